"""Which instance a command means: the one named, else the only live one on this machine."""

from __future__ import annotations

from .. import instances, naming
from ..errors import AccessDenied, InstanceError


def _has_control(inst) -> bool:
    return naming.control_segment(inst.name) in inst.segments


def pick_instance(name: str | None) -> str:
    """``name`` if it exists; without one, the only live instance that has a control block.
    Raises InstanceError naming the choices when there is none or there are several."""
    found = instances.scan()
    if name is not None:
        naming.check_name("instance", name)
        if name not in found:
            known = ", ".join(sorted(found)) or "none"
            raise InstanceError(f"no instance {name!r} in /dev/shm (instances: {known})")
        if found[name].unreadable:
            owner = found[name].owner
            raise AccessDenied(f"instance {name!r} belongs to user {owner}: its shared memory is owner-only "
                               f"(0600), so only {owner} or root can open it")
        return name
    live = sorted(n for n, i in found.items() if i.alive and _has_control(i))
    if len(live) == 1:
        return live[0]
    if not live:
        dead = sorted(n for n, i in found.items() if i.state == instances.DEAD)
        extra = f"; dead ones: {', '.join(dead)} (`hftshm clean` removes them)" if dead else ""
        others = sorted(f"{n} (user {i.owner})" for n, i in found.items() if i.state == instances.UNKNOWN)
        if others:
            extra += f"; other users' instances, which only their owner or root can open: {', '.join(others)}"
        raise InstanceError(f"no live hftshm instance; start one with `hftshm start`{extra}")
    raise InstanceError(f"{len(live)} live instances: {', '.join(live)}; choose one with --instance NAME")
