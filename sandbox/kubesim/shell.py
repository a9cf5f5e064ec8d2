"""What runs inside a sandbox container when someone execs into it: a small
built-in command set over the pod's declared env, its mounted ConfigMaps and
Secrets, and a scratch filesystem that lives as long as the emulator.

Enough for the commands people type first (`sh`, `ls`, `cat`, `env`, `echo`,
`date`, `hostname`, `ps`) and for what `kubectl cp` runs (`test -d`, `tar cf -`,
`tar -xmf - -C dir`). Containers whose image has no shell (distroless,
scratch) refuse `sh` as a runtime would.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import posixpath
import shlex
import tarfile
from dataclasses import dataclass, field
from typing import Any, Callable

NO_SHELL_IMAGES = ("distroless", "scratch")
SHELLS = ("sh", "/bin/sh", "bash", "/bin/bash", "ash", "/bin/ash")


class NotFoundInImage(Exception):
    """The command is not in the image: the runtime refuses to start it."""


@dataclass
class FileSystem:
    """One container's files: the scratch part is shared by every exec into it."""

    files: dict[str, bytes] = field(default_factory=dict)
    dirs: set[str] = field(default_factory=lambda: {"/", "/bin", "/etc", "/tmp", "/var", "/root", "/home", "/proc"})

    def isdir(self, path: str) -> bool:
        return path in self.dirs

    def exists(self, path: str) -> bool:
        return path in self.files or path in self.dirs

    def mkdirs(self, path: str) -> None:
        while path not in self.dirs:
            self.dirs.add(path)
            path = posixpath.dirname(path)

    def write(self, path: str, data: bytes, append: bool = False) -> None:
        self.mkdirs(posixpath.dirname(path))
        self.files[path] = (self.files.get(path, b"") if append else b"") + data

    def children(self, path: str) -> list[str]:
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix):].split("/", 1)[0] for p in (*self.files, *self.dirs)
                 if p.startswith(prefix) and p != prefix}
        return sorted(names)

    def remove(self, path: str) -> None:
        prefix = path.rstrip("/") + "/"
        self.files = {p: d for p, d in self.files.items() if p != path and not p.startswith(prefix)}
        self.dirs = {d for d in self.dirs if d != path and not d.startswith(prefix)} | {"/"}


class Container:
    """A container as exec sees it: env, hostname, files, and whether it has a shell."""

    def __init__(self, pod: dict[str, Any], container: dict[str, Any], fs: FileSystem,
                 lookup: Callable[[str, str, str], dict[str, Any] | None]):
        meta = pod.get("metadata") or {}
        self.pod_name = meta.get("name", "")
        self.namespace = meta.get("namespace", "")
        self.spec = container
        self.image = container.get("image", "")
        self.has_shell = not any(word in self.image for word in NO_SHELL_IMAGES)
        self.fs = fs
        self.env = self._env(lookup)
        self._mount(pod, lookup)

    def _env(self, lookup) -> dict[str, str]:
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "HOSTNAME": self.pod_name,
               "HOME": "/root", "KUBERNETES_SERVICE_HOST": "10.96.0.1", "KUBERNETES_SERVICE_PORT": "443"}
        for source in self.spec.get("envFrom") or []:
            ref = source.get("configMapRef") or source.get("secretRef") or {}
            data = _data(lookup, "configmaps" if "configMapRef" in source else "secrets", self.namespace,
                         ref.get("name", ""))
            for key, value in data.items():
                env[source.get("prefix", "") + key] = value.decode(errors="replace")
        for item in self.spec.get("env") or []:
            name = item.get("name")
            if not name:
                continue
            if "value" in item:
                env[name] = str(item["value"])
                continue
            ref = (item.get("valueFrom") or {})
            for kind, plural in (("configMapKeyRef", "configmaps"), ("secretKeyRef", "secrets")):
                if kind in ref:
                    value = _data(lookup, plural, self.namespace, ref[kind].get("name", "")).get(ref[kind].get("key"))
                    if value is not None:
                        env[name] = value.decode(errors="replace")
        return env

    def _mount(self, pod: dict[str, Any], lookup) -> None:
        volumes = {v.get("name"): v for v in (pod.get("spec") or {}).get("volumes") or []}
        self.fs.files["/etc/hostname"] = (self.pod_name + "\n").encode()
        for mount in self.spec.get("volumeMounts") or []:
            volume = volumes.get(mount.get("name")) or {}
            path = mount.get("mountPath") or ""
            if not path.startswith("/"):
                continue
            self.fs.mkdirs(path)
            for kind, plural, key in (("configMap", "configmaps", "name"), ("secret", "secrets", "secretName")):
                if kind in volume:
                    data = _data(lookup, plural, self.namespace, volume[kind].get(key, ""))
                    for name, value in data.items():
                        self.fs.files[posixpath.join(path, name)] = value


def _data(lookup, plural: str, namespace: str, name: str) -> dict[str, bytes]:
    obj = lookup(plural, namespace, name) if name else None
    if not obj:
        return {}
    out = {k: str(v).encode() for k, v in (obj.get("stringData") or {}).items()}
    for key, value in (obj.get("data") or {}).items():
        out[key] = base64.b64decode(value) if plural == "secrets" else str(value).encode()
    for key, value in (obj.get("binaryData") or {}).items():
        out[key] = base64.b64decode(value)
    return out


class Process:
    """One command line's run: stdin in, stdout/stderr out, an exit code."""

    def __init__(self, box: Container, stdin: bytes = b"", cwd: str = "/"):
        self.box = box
        self.stdin = stdin
        self.out = bytearray()
        self.err = bytearray()
        self.cwd = cwd
        self.exited = False

    # -- entry points -------------------------------------------------------------------
    def run_argv(self, argv: list[str]) -> int:
        """An exec's command, as the runtime starts it (no shell unless it is one)."""
        if not argv:
            raise NotFoundInImage("no command given")
        name = argv[0]
        if name in SHELLS:
            if not self.box.has_shell:
                raise NotFoundInImage(name)
            if len(argv) >= 3 and argv[1] == "-c":
                return self.run_line(argv[2])
            return self.run_script(self.stdin.decode(errors="replace"))
        if posixpath.basename(name) not in COMMANDS:
            raise NotFoundInImage(name)
        return self.command(argv)

    def run_script(self, text: str) -> int:
        code = 0
        for line in text.splitlines():
            code = self.run_line(line)
            if self.exited:
                break
        return code

    def run_line(self, line: str) -> int:
        """A shell line: `;`, `&&`, `||`, pipes, `>`/`>>` redirection, $VAR."""
        code = 0
        for op, pipeline in _split_lists(line):
            if (op == "&&" and code != 0) or (op == "||" and code == 0):
                continue
            code = self._pipeline(pipeline)
            if self.exited:
                break
        return code

    # -- the shell -----------------------------------------------------------------------
    def _pipeline(self, text: str) -> int:
        stages = [s for s in _split_unquoted(text, "|")]
        data = self.stdin
        code = 0
        for i, stage in enumerate(stages):
            try:
                words = shlex.split(stage, comments=True)
            except ValueError as e:
                self.err += f"sh: syntax error: {e}\n".encode()
                return 2
            words = [self._expand(w) for w in words]
            words, target, append = _redirect(words)
            if not words:
                continue
            sub = Process(self.box, data, self.cwd)
            code = sub.command(words)
            self.cwd = sub.cwd
            self.err += sub.err
            if sub.exited:
                self.exited = True
            if target is not None:
                self.box.fs.write(self._path(target), bytes(sub.out), append)
                data = b""
            elif i == len(stages) - 1:
                self.out += sub.out
            else:
                data = bytes(sub.out)
        return code

    def _expand(self, word: str) -> str:
        if "$" not in word:
            return word
        out, i = [], 0
        while i < len(word):
            if word[i] == "$" and i + 1 < len(word):
                j = i + 1
                if word[j] == "{":
                    k = word.find("}", j)
                    name, i = word[j + 1:k], k + 1
                else:
                    k = j
                    while k < len(word) and (word[k].isalnum() or word[k] == "_"):
                        k += 1
                    name, i = word[j:k], k
                out.append(self.box.env.get(name, "") if name else "$")
            else:
                out.append(word[i])
                i += 1
        return "".join(out)

    def _path(self, path: str) -> str:
        return posixpath.normpath(posixpath.join(self.cwd, path)) if path else self.cwd

    def command(self, argv: list[str]) -> int:
        name = posixpath.basename(argv[0])
        if name in SHELLS and self.box.has_shell:
            if len(argv) >= 3 and argv[1] == "-c":
                return self.run_line(argv[2])
            return self.run_script(self.stdin.decode(errors="replace"))
        handler = COMMANDS.get(name)
        if handler is None:
            self.err += f"sh: {argv[0]}: not found\n".encode()
            return 127
        return handler(self, argv[1:])


# -- built-in commands ---------------------------------------------------------------------

def _echo(p: Process, args: list[str]) -> int:
    newline = True
    if args and args[0] == "-n":
        newline, args = False, args[1:]
    p.out += (" ".join(args) + ("\n" if newline else "")).encode()
    return 0


def _cat(p: Process, args: list[str]) -> int:
    if not args or args == ["-"]:
        p.out += p.stdin
        return 0
    code = 0
    for arg in args:
        path = p._path(arg)
        if path in p.box.fs.files:
            p.out += p.box.fs.files[path]
        elif p.box.fs.isdir(path):
            p.err += f"cat: read error: Is a directory\n".encode()
            code = 1
        else:
            p.err += f"cat: can't open '{arg}': No such file or directory\n".encode()
            code = 1
    return code


def _ls(p: Process, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args if a.startswith("-"))
    paths = [a for a in args if not a.startswith("-")] or ["."]
    fs, code = p.box.fs, 0
    for n, arg in enumerate(paths):
        path = p._path(arg)
        if not fs.exists(path):
            p.err += f"ls: {arg}: No such file or directory\n".encode()
            code = 1
            continue
        names = fs.children(path) if fs.isdir(path) else [arg]
        if "a" in flags and fs.isdir(path):
            names = [".", ".."] + names
        if len(paths) > 1 and fs.isdir(path):
            p.out += f"{'' if n == 0 else chr(10)}{arg}:\n".encode()
        for name in names:
            full = posixpath.join(path, name) if fs.isdir(path) else path
            if "l" in flags:
                is_dir = fs.isdir(full) or name in (".", "..")
                size = len(fs.files.get(full, b""))
                mode = "drwxr-xr-x" if is_dir else "-rw-r--r--"
                p.out += f"{mode}    1 root     root     {size:>8} Jan  1 00:00 {name}\n".encode()
            else:
                p.out += f"{name}\n".encode()
    return code


def _env(p: Process, args: list[str]) -> int:
    p.out += "".join(f"{k}={v}\n" for k, v in p.box.env.items()).encode()
    return 0


def _date(p: Process, args: list[str]) -> int:
    p.out += (dt.datetime.now(dt.timezone.utc).strftime("%a %b %e %H:%M:%S UTC %Y") + "\n").encode()
    return 0


def _hostname(p: Process, args: list[str]) -> int:
    p.out += (p.box.pod_name + "\n").encode()
    return 0


def _ps(p: Process, args: list[str]) -> int:
    main = " ".join((p.box.spec.get("command") or []) + (p.box.spec.get("args") or [])) or p.box.image
    p.out += f"PID   USER     TIME  COMMAND\n    1 root      0:00 {main}\n   42 root      0:00 ps\n".encode()
    return 0


def _pwd(p: Process, args: list[str]) -> int:
    p.out += (p.cwd + "\n").encode()
    return 0


def _cd(p: Process, args: list[str]) -> int:
    path = p._path(args[0] if args else "/root")
    if not p.box.fs.isdir(path):
        p.err += f"sh: cd: can't cd to {args[0] if args else '~'}: No such file or directory\n".encode()
        return 2
    p.cwd = path
    return 0


def _mkdir(p: Process, args: list[str]) -> int:
    for arg in (a for a in args if not a.startswith("-")):
        p.box.fs.mkdirs(p._path(arg))
    return 0


def _rm(p: Process, args: list[str]) -> int:
    for arg in (a for a in args if not a.startswith("-")):
        p.box.fs.remove(p._path(arg))
    return 0


def _test(p: Process, args: list[str]) -> int:
    if args and args[-1] == "]":
        args = args[:-1]
    if len(args) == 2 and args[0] in ("-d", "-f", "-e"):
        path, fs = p._path(args[1]), p.box.fs
        ok = {"-d": fs.isdir(path), "-f": path in fs.files, "-e": fs.exists(path)}[args[0]]
        return 0 if ok else 1
    if len(args) == 3 and args[1] in ("=", "!="):
        return 0 if (args[0] == args[2]) == (args[1] == "=") else 1
    return 0 if args and args[0] else 1


def _exit(p: Process, args: list[str]) -> int:
    p.exited = True
    return int(args[0]) if args and args[0].isdigit() else 0


def _tail(p: Process, args: list[str]) -> int:
    data = p.stdin
    for arg in args:
        if arg.startswith("-c+"):
            data = data[max(0, int(arg[3:]) - 1):]
    p.out += data
    return 0


def _tar(p: Process, args: list[str]) -> int:
    """tar cf - PATH... | tar [-]x[m]f - [-C DIR]: what kubectl cp runs."""
    if not args:
        p.err += b"tar: need at least one option\n"
        return 1
    flags, rest = args[0].lstrip("-"), args[1:]
    directory = p.cwd
    names: list[str] = []
    i = 0
    while i < len(rest):
        if rest[i] == "-C" and i + 1 < len(rest):
            directory, i = p._path(rest[i + 1]), i + 2
            continue
        if rest[i].startswith("-"):
            flags += rest[i].lstrip("-")
        else:
            names.append(rest[i])
        i += 1
    if "f" in flags and names and names[0] == "-":
        names = names[1:]
    fs = p.box.fs
    if "c" in flags:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w", format=tarfile.GNU_FORMAT) as archive:
            for name in names:
                path = posixpath.normpath(posixpath.join(directory, name))
                if not fs.exists(path):
                    p.err += f"tar: {name}: No such file or directory\n".encode()
                    return 1
                arcname = name.lstrip("/")
                _add(archive, fs, path, arcname)
        p.out += buffer.getvalue()
        return 0
    if "x" in flags:
        if not fs.isdir(directory):
            p.err += f"tar: can't change directory to '{directory}': No such file or directory\n".encode()
            return 1
        try:
            with tarfile.open(fileobj=io.BytesIO(p.stdin), mode="r:*") as archive:
                for member in archive:
                    target = posixpath.normpath(posixpath.join(directory, member.name))
                    if not target.startswith(directory.rstrip("/") + "/") and target != directory:
                        continue  # ../ escapes: a real tar refuses them too
                    if member.isdir():
                        fs.mkdirs(target)
                    elif member.isfile():
                        fs.write(target, archive.extractfile(member).read())
        except tarfile.TarError as e:
            p.err += f"tar: invalid tar archive: {e}\n".encode()
            return 1
        return 0
    p.err += b"tar: unsupported operation\n"
    return 1


def _add(archive: tarfile.TarFile, fs: FileSystem, path: str, arcname: str) -> None:
    info = tarfile.TarInfo(arcname)
    info.mtime = 0
    if fs.isdir(path):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        archive.addfile(info)
        for child in fs.children(path):
            _add(archive, fs, posixpath.join(path, child), posixpath.join(arcname, child))
        return
    data = fs.files[path]
    info.size, info.mode = len(data), 0o644
    archive.addfile(info, io.BytesIO(data))


def _true(p: Process, args: list[str]) -> int:
    return 0


def _false(p: Process, args: list[str]) -> int:
    return 1


COMMANDS: dict[str, Callable[[Process, list[str]], int]] = {
    "echo": _echo, "cat": _cat, "ls": _ls, "env": _env, "printenv": _env, "date": _date, "hostname": _hostname,
    "ps": _ps, "pwd": _pwd, "cd": _cd, "mkdir": _mkdir, "rm": _rm, "test": _test, "[": _test, "exit": _exit,
    "tail": _tail, "tar": _tar, "true": _true, "false": _false,
}


# -- parsing helpers ------------------------------------------------------------------------

def _split_unquoted(text: str, sep: str) -> list[str]:
    parts, buf, quote = [], [], ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif text.startswith(sep, i) and not (sep == "|" and text.startswith("||", i)):
            parts.append("".join(buf))
            buf = []
            i += len(sep)
            continue
        buf.append(ch)
        i += 1
    parts.append("".join(buf))
    return parts


def _split_lists(line: str) -> list[tuple[str, str]]:
    """'a && b; c || d' -> [(';', 'a'), ('&&', 'b'), (';', 'c'), ('||', 'd')]."""
    out, buf, quote, op = [], [], "", ";"
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif line.startswith("&&", i) or line.startswith("||", i) or ch == ";":
            out.append((op, "".join(buf)))
            op = ";" if ch == ";" else line[i:i + 2]
            buf = []
            i += 1 if ch == ";" else 2
            continue
        buf.append(ch)
        i += 1
    out.append((op, "".join(buf)))
    return [(o, t) for o, t in out if t.strip()]


def _redirect(words: list[str]) -> tuple[list[str], str | None, bool]:
    for i, word in enumerate(words):
        if word in (">", ">>") and i + 1 < len(words):
            return words[:i] + words[i + 2:], words[i + 1], word == ">>"
        if word.startswith(">>") and len(word) > 2:
            return words[:i] + words[i + 1:], word[2:], True
        if word.startswith(">") and len(word) > 1:
            return words[:i] + words[i + 1:], word[1:], False
    return words, None, False
