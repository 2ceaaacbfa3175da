"""The letters tests use the workflow tests' store with demo users and their case maker."""
from tests.workflow.conftest import local_workflow_store, make_local_case, workflow_store  # noqa: F401
