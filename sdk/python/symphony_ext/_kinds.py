"""The extension kinds: decorators that register a class, and the value
types their methods take and return."""

from dataclasses import dataclass, field

_registered = {}


def _register(kind, required):
    def decorate(cls):
        missing = [name for name in required if not callable(getattr(cls, name, None))]
        if missing:
            raise TypeError(
                f"@symphony_ext.{kind} class {cls.__name__} lacks {', '.join(missing)}"
            )
        if _registered:
            raise TypeError(
                f"@symphony_ext.{kind} class {cls.__name__}: a component holds one extension, "
                f"and {_registered['class'].__name__} is registered already"
            )
        _registered.update({"kind": kind, "class": cls, "instance": None})
        return cls

    return decorate


def operator(cls):
    """Registers ``cls`` as this component's Operator: ``process(input)``
    returns the output; ``validate_input`` and ``validate_output`` are
    optional and raise to refuse a value."""
    return _register("operator", ["process"])(cls)


def instrument(cls):
    """Registers ``cls`` as this component's Instrument: ``invoke(input)``
    returns the output; ``configure(config)`` and ``health_check()`` are
    optional."""
    return _register("instrument", ["invoke"])(cls)


def addon(cls):
    """Registers ``cls`` as this component's Addon: ``render(state)`` returns
    a ``VTree`` or a list of ``VNode``; ``handle_event(event)`` returns a
    value describing what changed; ``get_state()`` is optional."""
    return _register("addon", ["render", "handle_event"])(cls)


def instance(kind=None):
    """The registered extension object, created on first use."""
    if not _registered:
        raise RuntimeError(
            "no extension registered: decorate a class with @symphony_ext.operator, "
            "@symphony_ext.instrument or @symphony_ext.addon"
        )
    if kind is not None and _registered["kind"] != kind:
        raise RuntimeError(f"the registered extension is an {_registered['kind']}, not an {kind}")
    if _registered["instance"] is None:
        _registered["instance"] = _registered["class"]()
    return _registered["instance"]


@dataclass
class Health:
    """An Instrument's health: ``status`` is ``"healthy"``, ``"degraded"``
    or ``"unhealthy"``; ``detail`` explains it."""

    status: str = "healthy"
    detail: str | None = None


@dataclass
class VNode:
    """One node of an Addon's flat UI tree; parents come before children."""

    id: int
    parent: int | None
    tag: str
    attrs: list = field(default_factory=list)
    text: str | None = None


@dataclass
class UiEvent:
    """A user interaction: the vnode it happened on, its name and its
    payload as a Python value."""

    target: int
    name: str
    payload: object = None


class VTree:
    """Builds a flat vnode tree with ids assigned in order::

        tree = VTree()
        root = tree.push(None, "panel", {"title": "Run"})
        tree.push(root, "text", text="3 nodes")
    """

    def __init__(self):
        self.nodes = []

    def push(self, parent, tag, attrs=None, text=None):
        """Appends a node under ``parent`` (``None`` for the root) and
        returns its id. ``attrs`` is a dict or a list of pairs."""
        pairs = list(attrs.items()) if isinstance(attrs, dict) else list(attrs or [])
        node = VNode(len(self.nodes), parent, tag, [(str(k), str(v)) for k, v in pairs], text)
        self.nodes.append(node)
        return node.id
