"""A real Asterisk 22 for the tests: a cached Debian-testing tree, a minimal configuration, one PBX per session.

Asterisk 22 is in Debian testing only, so it is installed once with `debootstrap` into a tree of its own
(`/var/cache/hotline12351/asterisk-root`, or `HOTLINE_TEST_ASTERISK_ROOT`; about 550 MB, 1.5 to 2.5 min) and
run from it with `chroot`, sharing the host's loopback. Each session writes its configuration into a folder
inside the tree (Asterisk sees paths from the tree's root; `pbx_path` translates): HTTP/ARI and a UDP SIP
transport on free loopback ports, an ARI user, the hotline number sent into `Stasis(hotline12351)`, and
PJSIP endpoints whose calls loop back into the same Asterisk, so a test's phones are real SIP legs (real RTP,
RFC 4733 DTMF) that the test drives over ARI in an application of its own (`PHONES_APP`):

- `caller`: originating on it rings the hotline number; the call arrives from endpoint `caller` in `hotline-in`.
- `staff1`, `staff2`: dialling them rings back into `phones`, which hands the ringing phone to `PHONES_APP`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import wave
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from speech.audio import write_wav
from speech.telephone import downsample_to_8k
from tests.conftest import KO_SPEECH

DEFAULT_ROOT = Path("/var/cache/hotline12351/asterisk-root")
ROOT_ENV = "HOTLINE_TEST_ASTERISK_ROOT"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
PACKAGES = "asterisk,asterisk-modules,sip-tester"
HOTLINE_APP = "hotline12351"
PHONES_APP = "hotline-test-phones"
HOTLINE_NUMBER = "12351"
STAFF_PHONES = ("staff1", "staff2")
MODULES_DIR = "/usr/lib/x86_64-linux-gnu/asterisk/modules"

# Only what a Stasis hotline needs: PJSIP over UDP, RTP, G.711, WAV files, mixing bridges, ARI. Start-up
# takes well under a second instead of several with the ~350 modules of a default install.
MODULES = [
    "res_sorcery_config",
    "res_sorcery_memory",
    "res_sorcery_astdb",
    "res_timing_timerfd",
    "res_pjproject",
    "res_pjsip",
    "res_pjsip_pubsub",
    "res_pjsip_session",
    "res_pjsip_sdp_rtp",
    "res_pjsip_endpoint_identifier_user",
    "res_pjsip_caller_id",
    "res_rtp_asterisk",
    "chan_pjsip",
    "codec_ulaw",
    "codec_alaw",
    "codec_resample",
    "format_wav",
    "format_pcm",
    "format_sln",
    "bridge_simple",
    "bridge_softmix",
    "pbx_config",
    "app_dial",
    "func_callerid",
    "func_channel",
    "res_http_websocket",
    "res_websocket_client",
    "res_stasis",
    "res_stasis_answer",
    "res_stasis_playback",
    "res_stasis_recording",
    "res_stasis_snoop",
    "app_stasis",
    "res_ari",
    "res_ari_model",
    "res_ari_asterisk",
    "res_ari_channels",
    "res_ari_bridges",
    "res_ari_recordings",
    "res_ari_playbacks",
    "res_ari_events",
    "res_ari_applications",
    "res_ari_endpoints",
]


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """A loopback port free right now (TCP for HTTP, UDP for SIP)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def tree_root() -> Path:
    """Where the Debian-testing tree with Asterisk lives (or will)."""
    return Path(os.environ.get(ROOT_ENV) or DEFAULT_ROOT)


def tree_ready(root: Path) -> bool:
    """The tree is complete: debootstrap finished and Asterisk is in it."""
    return (root / "usr/sbin/asterisk").is_file() and (root / MODULES_DIR.lstrip("/") / "res_ari.so").is_file()


def ensure_tree(root: Path) -> None:
    """Make the tree with debootstrap unless it exists; built beside it and renamed, so a half-built tree is
    never taken for a whole one, and locked, so two test runs do not build it at once."""
    if tree_ready(root):
        return
    if not shutil.which("debootstrap"):
        raise RuntimeError("debootstrap is missing: `apt-get install debootstrap` (./run test does it as root)")
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tree_ready(root):
            return
        building = root.with_name(root.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        done = subprocess.run(
            ["debootstrap", "--variant=minbase", f"--include={PACKAGES}", "testing", str(building), DEBIAN_MIRROR],
            capture_output=True,
            text=True,
            timeout=1800,
        )
        if done.returncode != 0 or not tree_ready(building):
            raise RuntimeError(f"debootstrap of Asterisk failed ({done.returncode}):\n{done.stdout[-3000:]}")
        shutil.rmtree(root, ignore_errors=True)
        building.rename(root)


def _chroot_command(root: Path) -> list[str]:
    """chroot as root; otherwise inside a user namespace where we are root (the loopback stays shared)."""
    if os.geteuid() == 0:
        return ["chroot", str(root)]
    return ["unshare", "--map-root-user", "chroot", str(root)]


@dataclass
class AsteriskPBX:
    """One running Asterisk from the tree, configured for the hotline's tests; `stop()` ends it."""

    root: Path
    ari_user: str = "hotline"
    ari_password: str = field(default_factory=lambda: secrets.token_hex(12))
    http_port: int = field(default_factory=free_port)
    sip_port: int = field(default_factory=lambda: free_port(socket.SOCK_DGRAM))
    home_in_pbx: str = field(default_factory=lambda: f"/tmp/hotline-pbx-{secrets.token_hex(4)}")
    process: subprocess.Popen | None = None

    @property
    def home(self) -> Path:
        """This PBX's folder, as the host sees it (configuration, spool, logs, media)."""
        return self.root / self.home_in_pbx.lstrip("/")

    @property
    def media_dir(self) -> Path:
        """A folder for audio Asterisk should play (prompts, the callers' clips), as the host sees it."""
        return self.home / "media"

    @property
    def recordings_dir(self) -> Path:
        """Where ARI's stored recordings land, as the host sees it."""
        return self.home / "spool" / "recording"

    @property
    def ari_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}/ari"

    def pbx_path(self, host_path: Path) -> str:
        """A host path inside the tree as Asterisk sees it (its root is the tree)."""
        return "/" + str(Path(host_path).resolve().relative_to(self.root.resolve()))

    def ari(self) -> httpx.Client:
        """A plain HTTP client on ARI with this PBX's user (for checks independent of our own ARI client)."""
        return httpx.Client(base_url=self.ari_url, auth=(self.ari_user, self.ari_password), timeout=10)

    def write_config(self) -> None:
        etc = self.home / "etc"
        for sub in ("etc", "run", "spool/recording", "log", "lib", "cache", "media"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        home = self.home_in_pbx
        files = {
            "asterisk.conf": f"""[directories]
astetcdir => {home}/etc
astmoddir => {MODULES_DIR}
astvarlibdir => {home}/lib
astdbdir => {home}/lib
astkeydir => {home}/lib
astdatadir => /usr/share/asterisk
astagidir => /usr/share/asterisk/agi-bin
astspooldir => {home}/spool
astrundir => {home}/run
astlogdir => {home}/log
astcachedir => {home}/cache
astsbindir => /usr/sbin
[options]
""",
            "modules.conf": "[modules]\nautoload = no\n" + "".join(f"load = {name}.so\n" for name in MODULES),
            "logger.conf": "[general]\n[logfiles]\nmessages.log => notice,warning,error,verbose\n",
            "http.conf": f"[general]\nenabled = yes\nbindaddr = 127.0.0.1\nbindport = {self.http_port}\n",
            "ari.conf": f"""[general]
enabled = yes
[{self.ari_user}]
type = user
read_only = no
password = {self.ari_password}
""",
            "pjsip.conf": self._pjsip_conf(),
            "extensions.conf": f"""[hotline-in]
exten => {HOTLINE_NUMBER},1,Stasis({HOTLINE_APP})
 same => n,Hangup()

[phones]
exten => _X.,1,Stasis({PHONES_APP},${{EXTEN}})
 same => n,Hangup()
exten => _[a-z].,1,Stasis({PHONES_APP},${{EXTEN}})
 same => n,Hangup()
""",
            "rtp.conf": "[general]\nrtpstart = 20000\nrtpend = 30000\n",
            "cdr.conf": "[general]\nenable = no\n",
            "cel.conf": "[general]\nenable = no\n",
        }
        for name in ("features.conf", "acl.conf", "pjproject.conf", "websocket_client.conf", "ccss.conf"):
            files.setdefault(name, "")
        for name, text in files.items():
            (etc / name).write_text(text)

    def _pjsip_conf(self) -> str:
        port = self.sip_port
        parts = [
            f"""[loopback-udp]
type = transport
protocol = udp
bind = 127.0.0.1:{port}

[endpoint-template](!)
type = endpoint
transport = loopback-udp
disallow = all
allow = ulaw
direct_media = no
dtmf_mode = rfc4733
identify_by = username
rtp_timeout = 60

[caller](endpoint-template)
context = hotline-in
from_user = caller
callerid = "Test caller" <13800138000>
aors = caller

[caller]
type = aor
contact = sip:{HOTLINE_NUMBER}@127.0.0.1:{port}
"""
        ]
        for phone in STAFF_PHONES:
            parts.append(f"""
[{phone}](endpoint-template)
context = phones
from_user = {phone}
aors = {phone}

[{phone}]
type = aor
contact = sip:{phone}@127.0.0.1:{port}
""")
        return "".join(parts)

    def start(self, timeout_s: float = 60) -> None:
        """Start Asterisk in the foreground of a child process and wait until ARI answers."""
        self.write_config()
        (self.root / "run" / "asterisk").mkdir(parents=True, exist_ok=True)
        with open(self.home / "log" / "console.log", "ab") as log:  # the child keeps its own copy open
            self.process = subprocess.Popen(
                [*self._asterisk_command(), "-f", "-n", "-q"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our own process group: stopping it never touches anyone else's Asterisk
            )
        deadline = time.monotonic() + timeout_s
        with self.ari() as client:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(f"Asterisk exited with {self.process.returncode}:\n{self.log()}")
                with contextlib.suppress(httpx.HTTPError):
                    if client.get("/asterisk/info", timeout=2).status_code == 200:
                        return
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"Asterisk's ARI did not answer in {timeout_s} s:\n{self.log()}")

    def _asterisk_command(self) -> list[str]:
        return [*_chroot_command(self.root), "/usr/sbin/asterisk", "-C", f"{self.home_in_pbx}/etc/asterisk.conf"]

    def cli(self, command: str) -> str:
        """Run one Asterisk CLI command (`asterisk -rx`) and return what it printed."""
        done = subprocess.run(
            [*self._asterisk_command(), "-rx", command],
            capture_output=True,
            text=True,
            timeout=30,
        )
        return done.stdout + done.stderr

    def stop(self) -> None:
        """Stop Asterisk cleanly (`core stop now`), killing it only if it does not go; remove its folder."""
        if self.process and self.process.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.cli("core stop now")
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.home, ignore_errors=True)

    def log(self) -> str:
        """Asterisk's own log of this run (messages.log, then the console's output)."""
        texts = []
        for name in ("messages.log", "console.log"):
            path = self.home / "log" / name
            if path.exists():
                texts.append(path.read_text(errors="replace")[-6000:])
        return "\n".join(texts)


def _unavailable_reason(root: Path) -> str | None:
    """Why this machine cannot run the PBX, or None when it can (the tree exists or root can build it)."""
    if tree_ready(root):
        if os.geteuid() != 0 and not shutil.which("unshare"):
            return "not root and no `unshare`: Asterisk runs by chroot into its tree"
        return None
    if os.geteuid() != 0:
        return f"no Asterisk tree at {root} and not root to build it (debootstrap); run ./run test as root once"
    return None


def require_tools(*tools: str) -> None:
    """Skip (fail in CI) unless the host programs a test needs are installed."""
    missing = [tool for tool in tools if not shutil.which(tool)]
    if missing:
        reason = f"{', '.join(missing)} not installed (./run test installs them as root)"
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Asterisk tests: {reason}")
        pytest.skip(reason)


_PBX_KEY = pytest.StashKey[AsteriskPBX]()


def shared_pbx(config: pytest.Config) -> AsteriskPBX:
    """The session's one PBX, started on first use and stopped when the session ends (whichever test module
    asked first); outside CI it skips only where the machine cannot have it."""
    if _PBX_KEY in config.stash:
        return config.stash[_PBX_KEY]
    root = tree_root()
    reason = _unavailable_reason(root)
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the Asterisk tests: {reason}")
        pytest.skip(reason)
    ensure_tree(root)
    pbx = AsteriskPBX(root)
    pbx.start()
    config.stash[_PBX_KEY] = pbx
    config.add_cleanup(pbx.stop)
    return pbx


def pbx_fixture() -> Any:
    """The session's PBX as a fixture of a test module: `asterisk_pbx = pbx_fixture()` at its top (a fixture
    made here per module, the PBX behind it shared: it starts once a session, see `shared_pbx`)."""

    @pytest.fixture(scope="session")
    def asterisk_pbx(request: pytest.FixtureRequest) -> AsteriskPBX:
        """A running Asterisk with ARI, the hotline number and test phones (see this module's docstring)."""
        return shared_pbx(request.config)

    return asterisk_pbx


def caller_clip(pbx: AsteriskPBX, name: str) -> tuple[str, Path]:
    """A real clip the caller says, as 8 kHz telephone audio where Asterisk can play it: (media URI, file)."""
    with wave.open(str(KO_SPEECH / name), "rb") as w:
        assert w.getframerate() == 16000
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    folder = pbx.media_dir / "caller"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    write_wav(path, downsample_to_8k(pcm, 16000), 8000)
    return "sound:" + pbx.pbx_path(path.with_suffix("")), path
