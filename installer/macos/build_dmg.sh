#!/usr/bin/env bash
# macOS: sign, package and notarise the workstation as a .dmg (issue 10, scope 2). Not run here (CI is Linux).
#
# On a Mac with Python 3.11, the Xcode command line tools and an Apple Developer ID:
#   python3 installer/build.py --no-packages          # -> dist/UM Reviewer Workstation.app (installer/umws.spec)
#   DEVELOPER_ID="Developer ID Application: Plan Name (TEAMID)" NOTARY_PROFILE=umws-notary \
#     bash installer/macos/build_dmg.sh               # -> dist/umws-VERSION-macos-ARCH.dmg, signed and stapled
# NOTARY_PROFILE is a keychain profile made once with
#   xcrun notarytool store-credentials umws-notary --apple-id ID --team-id TEAMID --password APP-SPECIFIC-PASSWORD
set -euo pipefail
cd "$(dirname "$0")/../.."
: "${DEVELOPER_ID:?set DEVELOPER_ID to the signing identity, e.g. Developer ID Application: Plan Name (TEAMID)}"
: "${NOTARY_PROFILE:?set NOTARY_PROFILE to a notarytool keychain profile (see the top of this script)}"
APP="dist/UM Reviewer Workstation.app"
ENTITLEMENTS=installer/macos/entitlements.plist
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
DMG="dist/umws-$VERSION-macos-$(uname -m).dmg"
[ -d "$APP" ] || { echo "no $APP: run python3 installer/build.py first" >&2; exit 2; }

sign() { codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" --sign "$DEVELOPER_ID" "$@"; }

# 1. Sign from the inside out: every library and executable, then the app (hardened runtime, secure timestamp).
find "$APP/Contents" -type f \( -name '*.dylib' -o -name '*.so' -o -perm -u+x \) -print0 | xargs -0 -n 20 \
  codesign --force --timestamp --options runtime --entitlements "$ENTITLEMENTS" --sign "$DEVELOPER_ID"
sign "$APP"
codesign --verify --deep --strict --verbose=2 "$APP"

# 2. The disk image, signed.
rm -f "$DMG"
hdiutil create -volname "UM Reviewer Workstation" -srcfolder "$APP" -ov -format UDZO "$DMG"
codesign --force --timestamp --sign "$DEVELOPER_ID" "$DMG"

# 3. Notarise with Apple, wait for the verdict, and staple the ticket so Gatekeeper accepts it offline.
xcrun notarytool submit "$DMG" --keychain-profile "$NOTARY_PROFILE" --wait
xcrun stapler staple "$DMG"
spctl --assess --type open --context context:primary-signature --verbose "$DMG"

# 4. The frozen app checks itself (needs the login keychain, i.e. a logged-in user).
"$APP/Contents/MacOS/umws" selfcheck
echo "$DMG"
