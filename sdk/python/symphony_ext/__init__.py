"""Write Symphony extensions (Instruments, Operators, Addons) in Python.

An extension is a class with its kind's methods and one decorator. This
Operator upper-cases the ``text`` field of its input::

    import symphony_ext as symphony

    @symphony.operator
    class Shout:
        def process(self, input):
            text = input.get("text") if isinstance(input, dict) else None
            if not isinstance(text, str):
                raise symphony.InvalidInput('expected {"text": "..."}')
            return {"text": text.upper()}

Build it with ``symphony ext build`` (which runs componentize-py with the
Symphony WIT and this package) and run it like any other extension.

Core concepts, as in the Rust SDK:

- **Kinds.** ``@operator`` (``process``, optional ``validate_input`` and
  ``validate_output``), ``@instrument`` (``invoke``, optional ``configure``
  and ``health_check``) and ``@addon`` (``render``, ``handle_event``,
  optional ``get_state``).
- **Lifecycle.** Any of ``on_load``, ``on_activate``, ``on_deactivate``,
  ``on_unload``, ``snapshot`` (returns ``bytes`` or ``None``) and
  ``restore(state: bytes)``; each is optional.
- **JSON as Python values.** Inputs arrive as ``dict``/``list``/``str``/
  numbers/``None``; return the same and the SDK writes the JSON.
- **Errors.** Raise ``InvalidInput``, ``InvalidConfig``, ``Unavailable``,
  ``Denied`` or ``Failed``; any other exception reaches the host as
  ``Failed`` with its message. Host calls raise the same classes.
- **One instance, one object.** The class is instantiated (with no
  arguments) the first time the host calls the component, and the object
  lives as long as the instance.
"""

from ._errors import (
    Denied,
    ExtError,
    Failed,
    InvalidConfig,
    InvalidInput,
    Unavailable,
)
from ._host import (
    artifact_get,
    artifact_put,
    config,
    log,
    model_call,
    publish,
    request,
)
from ._kinds import Health, UiEvent, VNode, VTree, addon, instrument, operator

__all__ = [
    "Denied",
    "ExtError",
    "Failed",
    "Health",
    "InvalidConfig",
    "InvalidInput",
    "UiEvent",
    "Unavailable",
    "VNode",
    "VTree",
    "addon",
    "artifact_get",
    "artifact_put",
    "config",
    "instrument",
    "log",
    "model_call",
    "operator",
    "publish",
    "request",
]
