# SPDX-License-Identifier: MIT
"""The routes an attack goes through: pull, create, start, attach, wait, exec, kill, remove.

Nothing runs. A container "runs" its command in name only: an attached one (``docker run``
without ``-d``) prints nothing and exits 0 once its standard input ends (or at once without
one), a detached one (a miner's ``docker run -d``) stays "Up" until killed or removed.
What matters is logged: the image, the command, the environment, binds and mounts, the
privileges asked for; the command, environment and any piped standard input go to the
shared payload extractor, whose URLs the sensor fetches.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import shlex
import time
from typing import Any

from aiohttp import web

from honeyfarm.sensor.capture.origin import capture_payload
from honeyfarm.sensor.traps.docker.api import ApiError, Call
from honeyfarm.sensor.traps.docker.documents import container_inspect, exec_inspect
from honeyfarm.sensor.traps.docker.outputs import output_for
from honeyfarm.sensor.traps.docker.state import (
    MAX_ITEM,
    STORED_BYTES,
    Container,
    Exec,
    budget,
    new_id,
    parse_ref,
    random_name,
    strings,
    valid_name,
)
from honeyfarm.sensor.traps.docker.streams import (
    frame,
    hijack,
    pull_stream,
    wait_stream,
    write_output,
)
from honeyfarm.sensor.traps.docker.wire import framed


def _kept(config: dict[str, Any]) -> dict[str, Any]:
    """The fields of a create body kept and logged, each bounded."""
    host = config.get("HostConfig") if isinstance(config.get("HostConfig"), dict) else {}
    assert isinstance(host, dict)
    kept: dict[str, Any] = {
        "Cmd": strings(config.get("Cmd")),
        "Entrypoint": strings(config.get("Entrypoint")),
        "Env": strings(config.get("Env")),
        "Binds": strings(host.get("Binds"), 16),
        "CapAdd": strings(host.get("CapAdd"), 16),
        "Privileged": host.get("Privileged") is True,
        "AutoRemove": host.get("AutoRemove") is True,
    }
    for key in ("PidMode", "NetworkMode", "IpcMode", "UsernsMode"):
        if isinstance(host.get(key), str) and host[key]:
            kept[key] = host[key][:128]
    for key in ("WorkingDir", "User", "Hostname"):
        if isinstance(config.get(key), str) and config[key]:
            kept[key] = config[key][:256]
    for key in ("Tty", "OpenStdin", "StdinOnce", "AttachStdin", "AttachStdout", "AttachStderr"):
        kept[key] = config.get(key) is True
    mounts = host.get("Mounts")
    if isinstance(mounts, list):
        kept["Mounts"] = [
            {k: str(m.get(k, ""))[:MAX_ITEM] for k in ("Type", "Source", "Target")}
            for m in mounts[:16]
            if isinstance(m, dict)
        ]
    devices = host.get("Devices")
    if isinstance(devices, list):
        kept["Devices"] = [str(d.get("PathOnHost", ""))[:256] for d in devices[:16] if isinstance(d, dict)]
    return kept


def _joined(argv: list[str]) -> str:
    return shlex.join(argv)[: 4 * MAX_ITEM]


def _capture(call: Call, payload: str, request: str) -> list[str]:
    return capture_payload(call.trap.ctx, call.proto.log, payload, trap="docker", request=request)


def _container(call: Call) -> Container:
    ident = call.vars["name"]
    c = call.state.find(ident)
    if c is None:
        raise ApiError(404, f"No such container: {ident}")
    return c


async def images_create(call: Call) -> web.StreamResponse:
    """POST /images/create?fromImage=alpine&tag=latest: a pull, streamed like the registry's."""
    from_image = call.query.get("fromImage", "")
    from_src = call.query.get("fromSrc", "")
    if from_src:
        _capture(call, from_src, "images/create")
    name = from_image or call.query.get("repo", "")
    ref = parse_ref(name, call.query.get("tag", ""))
    if ref is None:
        raise ApiError(400, "invalid reference format")
    present = ref.familiar in call.state.images
    call.proto.log.emit(
        "docker.image.pull",
        image=ref.familiar,
        tag=ref.tag,
        from_image=from_image or None,
        from_src=from_src or None,
        present=present,
    )
    resp = await pull_stream(call.request, call.middleware, ref, present, call.trap.pull_step)
    call.state.add_image(ref)
    return resp


async def create(call: Call) -> web.StreamResponse:
    """POST /containers/create?name=x: logged in full (even when refused), then dockerd's answer."""
    doc, refusal = call.lenient_json()
    if not isinstance(doc, dict):
        raise refusal or ApiError(400, "Config cannot be empty in order to create a container")
    kept = _kept(doc)
    image = str(doc.get("Image") or "")[:256]
    name = call.query.get("name", "")[:256]
    argv = kept["Entrypoint"] + kept["Cmd"]
    command = _joined(argv)
    fields: dict[str, Any] = {
        "image": image,
        "command": command or None,
        "name": name or None,
        "cmd": kept["Cmd"] or None,
        "entrypoint": kept["Entrypoint"] or None,
        "env": kept["Env"] or None,
        "binds": kept["Binds"] or None,
        "mounts": kept.get("Mounts") or None,
        "devices": kept.get("Devices") or None,
        "privileged": kept["Privileged"],
        "cap_add": kept["CapAdd"] or None,
        "pid_mode": kept.get("PidMode"),
        "network_mode": kept.get("NetworkMode"),
        "auto_remove": kept["AutoRemove"] or None,
        "tty": kept["Tty"],
    }
    payload = "\n".join([command, *kept["Env"]])
    urls = _capture(call, payload, "containers/create") if payload.strip() else []
    ref = parse_ref(image)
    error: ApiError | None = refusal
    if error is not None:
        pass
    elif not image:
        error = ApiError(400, "No command specified")
    elif ref is None:
        error = ApiError(400, "invalid reference format")
    elif ref.familiar not in call.state.images:
        error = ApiError(404, f"No such image: {ref.familiar}")
    elif name and not valid_name(name):
        error = ApiError(400, f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")
    elif name and (other := call.state.by_name(name.lstrip("/"))) is not None:
        error = ApiError(
            409,
            f'Conflict. The container name "/{name.lstrip("/")}" is already in use by container '
            f'"{other.id}". You have to remove (or rename) that container to be able to reuse that name.',
        )
    if error is not None or ref is None:
        call.proto.log.emit(
            "docker.container.create", **fields, created=False, error=error and error.message, urls=urls or None
        )
        raise error or ApiError(400, "invalid reference format")
    await _takes(call, 0.03, 0.05)  # dockerd: layer mount and config written to disk
    c = Container(new_id(), name.lstrip("/") or _free_name(call), image, ref, budget(kept))
    call.state.add_container(c)
    call.proto.log.emit("docker.container.create", **fields, created=True, container_id=c.id, urls=urls or None)
    return await call.json(201, {"Id": c.id, "Warnings": []})


async def _takes(call: Call, least: float, spread: float) -> None:
    """A real engine's latency for this step: an instant create or start is a honeypot's tell."""
    scale = call.trap.timing_scale
    if scale > 0:
        await asyncio.sleep(scale * (least + spread * secrets.randbelow(1000) / 1000))


def _free_name(call: Call) -> str:
    """namesgenerator's retry: a taken ``adjective_surname`` gets a digit appended."""
    name = random_name()
    for retry in range(1, 50):
        if call.state.by_name(name) is None:
            break
        name = f"{random_name()}{retry}"
    return name


async def start(call: Call) -> web.StreamResponse:
    c = _container(call)
    if c.running:
        return await call.empty(304)
    await _takes(call, 0.15, 0.2)  # runc create + start, network namespace
    c.running, c.started, c.pid = True, time.time(), call.trap.state.next_pid()
    c.exited.clear()
    call.proto.log.emit(
        "docker.container.start", container_id=c.id, name=c.name, image=c.image, command=_joined(c.command) or None
    )
    cfg = c.config
    attached = cfg.get("AttachStdout") or cfg.get("AttachStderr") or cfg.get("AttachStdin")
    if attached and not call.trap.spawn(_run_attached(call, c)):
        _exit(c, 0)  # too many "running" at once: this one ends at once
    return await call.empty(204)


async def _run_attached(call: Call, c: Container) -> None:
    """An attached container's life: as long as its standard input (bounded), else a blink."""
    sink = c.stdin
    if c.config.get("OpenStdin") and sink is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.ended.wait(), call.trap.cfg.stream_timeout)
    else:
        await asyncio.sleep(0.05)
    _exit(c, 0)
    if c.config.get("AutoRemove"):
        call.state.remove(c)


def _exit(c: Container, code: int) -> None:
    if c.running:
        c.running, c.finished, c.exit_code = False, time.time(), code
    c.exited.set()


async def attach(call: Call) -> web.StreamResponse:
    """POST /containers/{id}/attach: hijacked; the output (none) once the container exits."""
    c = _container(call)
    resp, sink = await hijack(call.request, call.proto, call.middleware, call.trap.cfg.max_stdin_bytes)
    if call.flag("stdin"):
        c.stdin = sink
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(c.exited.wait(), call.trap.cfg.stream_timeout)
    if c.stdin is not None:
        call.proto.flush_stdin(c.stdin, "containers/attach", c.id)
    await write_output(resp, bool(c.config.get("Tty")), output_for(c.command, c, call.trap.engine))
    return resp


async def wait(call: Call) -> web.StreamResponse:
    c = _container(call)
    cond = call.query.get("condition", "not-running") or "not-running"
    if cond not in ("not-running", "next-exit", "removed"):
        raise ApiError(400, f"invalid condition: {cond!r}")
    event = c.removed if cond == "removed" else c.exited
    if cond == "not-running" and not c.running:
        event = asyncio.Event()
        event.set()
    return await wait_stream(call.request, call.middleware, event, call.trap.cfg.stream_timeout, lambda: c.exit_code)


async def logs(call: Call) -> web.StreamResponse:
    c = _container(call)
    if not (call.flag("stdout") or call.flag("stderr")):
        raise ApiError(400, "Bad parameters: you must choose at least one stream")
    out = output_for(c.command, c, call.trap.engine) if c.started and call.flag("stdout") else b""
    tty = bool(c.config.get("Tty"))
    # WriteLogStream flushes before its first line: chunked, no Content-Type.
    resp, _ = framed(call.request, 200, call.middleware, b"", stream=True)
    await resp.prepare(call.request)
    if out and call.request.method != "HEAD":
        await resp.write(out if tty else frame(1, out))
    return resp


async def inspect(call: Call) -> web.StreamResponse:
    return await call.json(200, container_inspect(_container(call), call.trap.engine))


async def kill(call: Call) -> web.StreamResponse:
    c = _container(call)
    if not c.running:
        raise ApiError(409, f"Cannot kill container: {call.vars['name']}: Container {c.id} is not running")
    _exit(c, 137)
    return await call.empty(204)


async def stop(call: Call) -> web.StreamResponse:
    c = _container(call)
    if not c.running:
        return await call.empty(304)
    _exit(c, 143)
    return await call.empty(204)


async def restart(call: Call) -> web.StreamResponse:
    c = _container(call)
    _exit(c, 143)
    c.running, c.started, c.pid = True, time.time(), call.trap.state.next_pid()
    c.exited.clear()
    return await call.empty(204)


async def remove(call: Call) -> web.StreamResponse:
    c = _container(call)
    if c.running and not call.flag("force"):
        raise ApiError(
            409,
            f"You cannot remove a running container {c.id}. Stop the container before attempting removal or "
            "force remove",
        )
    _exit(c, 137)
    call.state.remove(c)
    return await call.empty(204)


async def resize(call: Call) -> web.StreamResponse:
    _container(call)
    return await call.empty(200)


# --- exec ------------------------------------------------------------------------------------------


async def exec_create(call: Call) -> web.StreamResponse:
    c = _container(call)
    doc, refusal = call.lenient_json()
    if not isinstance(doc, dict):
        raise refusal or ApiError(400, "No exec command specified")
    cmd = strings(doc.get("Cmd"))
    command = _joined(cmd)
    urls = _capture(call, "\n".join([command, *strings(doc.get("Env"))]), "containers/exec") if cmd else []
    ok = bool(cmd) and c.running and refusal is None
    e = Exec(new_id(), c, budget({"Cmd": cmd}, STORED_BYTES // 2)["Cmd"], doc.get("Tty") is True,
             doc.get("AttachStdin") is True)  # fmt: skip
    call.proto.log.emit(
        "docker.exec.create",
        container_id=c.id,
        exec_id=e.id if ok else None,
        command=command or None,
        cmd=cmd or None,
        user=str(doc.get("User") or "")[:128] or None,
        privileged=doc.get("Privileged") is True,
        env=strings(doc.get("Env")) or None,
        created=ok,
        urls=urls or None,
    )
    if refusal is not None:
        raise refusal
    if not cmd:
        raise ApiError(400, "No exec command specified")
    if not c.running:
        raise ApiError(409, f"Container {c.id} is not running")
    call.state.add_exec(e)
    return await call.json(201, {"Id": e.id})


def _exec(call: Call) -> Exec:
    ident = call.vars["id"]
    e = call.state.execs.get(ident)
    if e is None:
        raise ApiError(404, f"No such exec instance: {ident}")
    return e


async def exec_start(call: Call) -> web.StreamResponse:
    e = _exec(call)
    doc = call.json_body()
    detach = isinstance(doc, dict) and doc.get("Detach") is True
    if e.running or e.exit_code is not None:
        raise ApiError(409, f"Error: Exec command {e.id} has already run")
    e.running, e.pid = True, call.trap.state.next_pid()
    if detach:
        e.running, e.exit_code = False, 0
        return await call.empty(200)
    resp, sink = await hijack(call.request, call.proto, call.middleware, call.trap.cfg.max_stdin_bytes)
    if e.attach_stdin:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(sink.ended.wait(), call.trap.cfg.stream_timeout)
        call.proto.flush_stdin(sink, "exec/start", e.container.id)
    else:
        await asyncio.sleep(0.02)
    e.running, e.exit_code = False, 0
    await write_output(resp, e.tty, output_for(e.cmd, e.container, call.trap.engine))
    return resp


async def exec_inspect_route(call: Call) -> web.StreamResponse:
    return await call.json(200, exec_inspect(_exec(call)))


async def exec_resize(call: Call) -> web.StreamResponse:
    _exec(call)
    return await call.empty(201)
