; Inno Setup 6 script: the Windows installer of the UM Reviewer Workstation (issue 10, scope 2).
; Not run here (this repository's CI is Linux): build it on Windows, after `python installer\build.py`, with
;   iscc /DAppVersion=0.1.0 installer\windows\umws.iss        -> dist\umws-0.1.0-windows-setup.exe
; Per machine by default (Program Files, for all users; needs an administrator), or per user (no administrator:
; setup.exe /CURRENTUSER, or the choice the wizard offers). IT installs silently, with the plan's machine-wide
; configuration, with:  umws-0.1.0-windows-setup.exe /VERYSILENT /ALLUSERS /CONFIG=\\server\share\umws.toml
; installer/README.md says more, including how to sign the installer.

#ifndef AppVersion
  #error Pass the version from pyproject.toml: iscc /DAppVersion=X.Y.Z installer\windows\umws.iss
#endif

[Setup]
AppId={{3E0B6A5C-2F47-4C8E-9D16-7A1B5C2E8F40}
AppName=UM Reviewer Workstation
AppVersion={#AppVersion}
AppVerName=UM Reviewer Workstation {#AppVersion}
AppPublisher=UM Reviewer Workstation maintainers
DefaultDirName={autopf}\UM Reviewer Workstation
DefaultGroupName=UM Reviewer Workstation
DisableProgramGroupPage=yes
PrivilegesRequired=admin
PrivilegesRequiredOverridesAllowed=dialog commandline
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
UninstallDisplayIcon={app}\umws-gui.exe
OutputDir=..\..\dist
OutputBaseFilename=umws-{#AppVersion}-windows-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
; SignTool=plan $f   (define the "plan" sign tool in the Inno Setup IDE or with iscc /Splan=... to sign)

[Files]
Source: "..\..\dist\umws\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs
; The plan's machine-wide configuration, when /CONFIG=FILE is given (per-machine installs only). It is IT's file:
; an uninstall leaves it in place.
Source: "{param:CONFIG}"; DestDir: "{commonappdata}\umws"; DestName: "umws.toml"; \
  Flags: external uninsneveruninstall; Check: ConfigGiven

[Icons]
Name: "{autoprograms}\UM Reviewer Workstation"; Filename: "{app}\umws-gui.exe"; \
  Comment: "Review treatment authorization requests against their regulatory clocks"

[Run]
Filename: "{app}\umws-gui.exe"; Description: "Start the UM Reviewer Workstation"; Flags: nowait postinstall skipifsilent

[Code]
function ConfigGiven: Boolean;
begin
  Result := IsAdminInstallMode and (ExpandConstant('{param:CONFIG|}') <> '');
end;
