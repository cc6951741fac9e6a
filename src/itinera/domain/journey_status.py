"""What the lifecycle commands do to a journey's status, written once: the engine acts on a
command only when it changes the status (``engine.lifecycle``), and the checks before a
command is stored refuse those that make no sense (``runtime.checks``).

``draft`` (published, never enabled) → ``enabled`` ⇄ ``paused``; any → ``disabled``;
``disabled`` or ``paused`` → ``enabled`` again by ``enable``. Enabling an enabled journey or
disabling a disabled one changes nothing; pausing what is not enabled, or resuming what is not
paused, is refused: it would change nothing either, and the user meant something else.
"""

from __future__ import annotations

__all__ = ["after", "refusal"]


def after(command: str, status: str) -> str | None:
    """The status ``command`` leaves a journey in; None when it changes nothing."""
    if command == "enable":
        return None if status == "enabled" else "enabled"
    if command == "pause":
        return "paused" if status == "enabled" else None
    if command == "resume":
        return "enabled" if status == "paused" else None
    if command == "disable":
        return None if status == "disabled" else "disabled"
    raise ValueError(f"not a lifecycle command: {command!r}")


def refusal(command: str, journey: str, status: str) -> str | None:
    """Why ``command`` makes no sense for a journey in ``status``, or None."""
    if command == "pause" and status != "enabled":
        return f"journey {journey!r} is {status}: only an enabled journey can be paused"
    if command == "resume" and status != "paused":
        return (f"journey {journey!r} is {status}: only a paused journey can be resumed"
                + (" (enable it instead)" if status in ("disabled", "draft") else ""))
    return None
