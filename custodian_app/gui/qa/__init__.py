"""Tools for QA: a pytest plugin (``custodian_app.gui.qa.pytest_plugin``, loaded by pytest through the
``pytest11`` entry point) with fixtures for the application, the ATM and backend simulators
serving given documents, the users, and ``WizardDriver``, which clears an ATM through the
wizard's own buttons and fields. Guide and example: docs/qa.md."""
