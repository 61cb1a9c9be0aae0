"""The exception every check raises for a student's mistake."""


class CheckFailed(AssertionError):
    """A check failed; the message is written for the student."""
