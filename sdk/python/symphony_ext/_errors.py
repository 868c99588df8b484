"""The typed errors of the WIT's ``ext-error`` variant, as exceptions."""


class ExtError(Exception):
    """Why an extension call did not produce a result.

    Subclasses name the case; the message is meant for the person running
    the workflow.
    """

    #: The WIT case this class stands for.
    case = "failed"

    def __init__(self, message=""):
        super().__init__(message)
        self.message = str(message)


class InvalidInput(ExtError):
    """The input does not have the shape or values the extension accepts."""

    case = "invalid-input"


class InvalidConfig(ExtError):
    """The configuration given to the extension is not usable."""

    case = "invalid-config"


class Unavailable(ExtError):
    """A resource the extension needs is not available right now."""

    case = "unavailable"


class Denied(ExtError):
    """The host refused a call because the extension lacks the capability."""

    case = "denied"


class Failed(ExtError):
    """Anything else that went wrong inside the extension."""

    case = "failed"


#: The exception class for each WIT case.
BY_CASE = {cls.case: cls for cls in (InvalidInput, InvalidConfig, Unavailable, Denied, Failed)}
