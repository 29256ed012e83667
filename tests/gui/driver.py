"""The QA driver (custodian_app.qa.driver), as the project's own GUI tests import it."""

from custodian_app.qa.driver import SLOW, WizardDriver

__all__ = ["SLOW", "WizardDriver"]
