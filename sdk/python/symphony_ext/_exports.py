"""The classes componentize-py exports for each world, calling the
registered extension. ``symphony ext build`` imports them into the entry
module it generates; an extension author never uses them."""

import json

from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import types

from . import _kinds
from ._errors import ExtError

_CASES = {
    "invalid-input": types.ExtError_InvalidInput,
    "invalid-config": types.ExtError_InvalidConfig,
    "unavailable": types.ExtError_Unavailable,
    "denied": types.ExtError_Denied,
    "failed": types.ExtError_Failed,
}


def _protocol(name):
    """The generated protocol class of an export; each world generates only
    its own kind's, and the classes of the other kinds go unused."""
    return getattr(exports, name, object)


def _call(method, *args, default=None):
    """Calls ``method`` on the extension if it has it; an exception becomes
    the WIT error it names (``Failed`` for anything else)."""
    target = getattr(_kinds.instance(), method, None)
    if target is None:
        return default
    try:
        return target(*args)
    except ExtError as error:
        raise Err(_CASES[error.case](error.message)) from None
    except Exception as error:  # noqa: BLE001 - the host gets every failure typed
        raise Err(types.ExtError_Failed(f"{type(error).__name__}: {error}")) from None


def _parse(text):
    try:
        return json.loads(text)
    except ValueError as error:
        raise Err(types.ExtError_InvalidInput(f"not JSON: {error}")) from None


def _dump(value):
    try:
        return json.dumps(value)
    except (TypeError, ValueError) as error:
        raise Err(types.ExtError_Failed(f"the result is not JSON: {error}")) from None


class Lifecycle(_protocol("Lifecycle")):
    def on_load(self):
        _call("on_load")

    def on_activate(self):
        _call("on_activate")

    def on_deactivate(self):
        try:
            _call("on_deactivate")
        except Err:
            pass  # The hook returns nothing; a failure has nowhere to go.

    def on_unload(self):
        try:
            _call("on_unload")
        except Err:
            pass

    def snapshot(self):
        try:
            state = _call("snapshot")
        except Err:
            return None
        return None if state is None else bytes(state)

    def restore(self, state):
        _call("restore", bytes(state))


class Operator(_protocol("Operator")):
    def validate_input(self, input):
        _call("validate_input", _parse(input))

    def process(self, input):
        return _dump(_call("process", _parse(input)))

    def validate_output(self, output):
        _call("validate_output", _parse(output))


_HEALTH = {
    "healthy": types.HealthStatus.HEALTHY,
    "degraded": types.HealthStatus.DEGRADED,
    "unhealthy": types.HealthStatus.UNHEALTHY,
}


class Instrument(_protocol("Instrument")):
    def configure(self, config):
        _call("configure", _parse(config))

    def invoke(self, input):
        return _dump(_call("invoke", _parse(input)))

    def health_check(self):
        try:
            health = _call("health_check", default=_kinds.Health())
        except Err as err:
            return types.Health(types.HealthStatus.UNHEALTHY, err.value.value)
        if isinstance(health, str):
            health = _kinds.Health(health)
        status = _HEALTH.get(health.status, types.HealthStatus.UNHEALTHY)
        return types.Health(status, health.detail)


class Addon(_protocol("Addon")):
    def render(self, state):
        try:
            value = json.loads(state)
        except ValueError:
            value = None
        try:
            nodes = _call("render", value, default=[])
        except Err as err:
            nodes = _kinds.VTree()
            nodes.push(None, "error", text=err.value.value)
        if isinstance(nodes, _kinds.VTree):
            nodes = nodes.nodes
        return [types.Vnode(n.id, n.parent, n.tag, list(n.attrs), n.text) for n in nodes]

    def handle_event(self, event):
        payload = _parse(event.payload) if event.payload else None
        ui = _kinds.UiEvent(event.target, event.name, payload)
        return _dump(_call("handle_event", ui))

    def get_state(self):
        try:
            return _dump(_call("get_state", default=None))
        except Err:
            return "null"
