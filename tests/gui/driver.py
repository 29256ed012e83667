"""The QA driver (custodian_app.gui.qa.driver), as the project's own GUI tests import it."""

from custodian_app.gui.qa.driver import SLOW, WizardDriver

__all__ = ["SLOW", "WizardDriver"]
