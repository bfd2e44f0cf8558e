"""Which instance a command means: the one named, else the only live one on this machine; or a
group (several venues in one instance, ``hftshm.instances.Group``) where the command takes one."""

from __future__ import annotations

from .. import instances, naming
from ..errors import AccessDenied, InstanceError


def _has_control(inst) -> bool:
    return naming.control_segment(inst.name) in inst.segments


def pick(name: str | None) -> str | instances.Group:
    """``name`` if an instance has it, else the group of that name; without a name, the only live
    instance that has a control block, or the group whose instances are all the live ones.
    Raises InstanceError naming the choices when there is none or there are several."""
    found = instances.scan()
    if name is not None:
        naming.check_name("instance", name)
        if name not in found:
            group = instances.group(name, found)
            if group is not None:
                return group
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
    groups = instances.groups(found)
    whole = [g for g in groups.values() if set(live) <= set(g.instances)]
    if len(whole) == 1:
        return whole[0]
    named = ", ".join(f"{g.name} ({', '.join(g.instances)})" for g in groups.values())
    extra = f"; groups: {named}" if named else ""
    raise InstanceError(f"{len(live)} live instances: {', '.join(live)}{extra}; choose one with --instance NAME")


def pick_instance(name: str | None) -> str:
    """Like ``pick``, for what reads one instance: a group is an error naming its instances."""
    target = pick(name)
    if isinstance(target, instances.Group):
        raise InstanceError(f"{target.name!r} is a group of {len(target.members)} instances "
                            f"({', '.join(target.instances)}): name one with --instance")
    return target
