"""Where the Vosk model is, how to get it, and one shared `vosk.Model` per process."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import vosk

vosk.SetLogLevel(-1)  # Kaldi's log lines on stderr are noise in a server

ENV_MODEL_PATH = "HOTLINE_VOSK_MODEL_PATH"


@dataclass(frozen=True)
class ModelSource:
    """A downloadable Vosk model: folder name, official URL, sha256 of the zip, rough size."""

    name: str
    url: str
    sha256: str
    size_mb: int


MANDARIN_MODEL = ModelSource(
    name="vosk-model-small-cn-0.22",
    url="https://alphacephei.com/vosk/models/vosk-model-small-cn-0.22.zip",
    sha256="3af8b0e7e0f835ae9d414ce5df580237a3cfb08d586c9fbbb0f7ff29ad5b14ba",
    size_mb=42,
)


# The unzipped Mandarin model's files, bytes and sha256 (shared/models/SOURCES.md), for checking a copy.
MANDARIN_FILES: dict[str, tuple[int, str]] = {
    "README": (82, "7362be411c609f2a1c9d2dfe22c2d72555c15eb90bfe47c41772f49ef94840ce"),
    "am/final.mdl": (15901896, "91eda2c04c4f599361cb92b0e5298ccdf6b3c7a1fa52bfcefcd2c4e07aa1c131"),
    "conf/mfcc.conf": (153, "6c326fea5741c2d78be12f76eb1b36ea2ace040da9e355e4cfe6bb80e5f7d5ab"),
    "conf/model.conf": (289, "468a8125c07530f96adcc219a0a5f993e8e0721ccf18acbd3169b77fc685fb9b"),
    "graph/Gr.fst": (26082259, "46d41a9b1723abccdcb354d731a5b58d87c060100d88ada1a3e31220f52b0434"),
    "graph/HCLr.fst": (16158762, "798af0d9ba6f2d727747f58e1e7b2305f8618bc8ea7f6c51beecd8a2c965b965"),
    "graph/disambig_tid.int": (234, "c9200318c2a265549ebfbea7e0176fa62e131e953abd140c9b0b39fe61e24015"),
    "graph/phones/word_boundary.int": (7161, "11ca784b99f03188b451fb54714c2de3dd694e662a5f88e82df435c2789b9aec"),
    "ivector/final.dubm": (168048, "e33276cbd548c0a03ae5812c98115940614997dff23a6d59968af6eaf7630ff8"),
    "ivector/final.ie": (9927287, "c39d46fbff04efb7baa9660ae7a728b0e2f35a4a1250b56ed3a599e26956df86"),
    "ivector/final.mat": (44975, "42706d88818070ea0d0182b4d11367ba52a13b9a2be45630f60858a422109ada"),
    "ivector/global_cmvn.stats": (1090, "b267dc89c1556fdd5bc358f0a480929da1743eeccfa06a67daf8db629ca336bb"),
    "ivector/online_cmvn.conf": (0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
    "ivector/splice.conf": (35, "9f0c5f7c82d18eaf25d8bce470efa9f7741f88411fe428774bc0a9bb69a24756"),
}


def verify_files(model_dir: Path, files: dict[str, tuple[int, str]]) -> list[str]:
    """One line per file that is missing, or differs in size or sha256 from `files`; empty when all match."""
    problems = []
    for name, (size, sha256) in files.items():
        path = Path(model_dir) / name
        if not path.is_file():
            problems.append(f"{name}: missing")
            continue
        if path.stat().st_size != size:
            problems.append(f"{name}: {path.stat().st_size} bytes, expected {size}")
            continue
        digest = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != sha256:
            problems.append(f"{name}: sha256 {digest.hexdigest()}, expected {sha256}")
    return problems


class ModelMissing(RuntimeError):
    """No usable Vosk model on disk; the message says where we looked and how to get one."""


class ModelFetchError(RuntimeError):
    """Downloading or unpacking the model failed; the message says what to download and where to put it."""


def is_model_dir(path: Path) -> bool:
    """True for a folder laid out as a Vosk model (`am/final.mdl` and `conf/`)."""
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def default_model_dir(source: ModelSource = MANDARIN_MODEL) -> Path:
    """The user cache folder the model is fetched into: `$XDG_CACHE_HOME` or `~/.cache`/hotline12351/models."""
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "hotline12351" / "models" / source.name


def _model_in(path: Path) -> Path | None:
    """`path` if it is a model folder, or the one model folder directly inside it."""
    if is_model_dir(path):
        return path
    if path.is_dir():
        inside = [child for child in path.iterdir() if child.is_dir() and is_model_dir(child)]
        if len(inside) == 1:
            return inside[0]
    return None


def find_model(configured: Path | None) -> Path | None:
    """The configured model folder if usable (or the single model inside it), else the cached one, else None."""
    if configured is not None:
        found = _model_in(Path(configured).expanduser())
        if found is not None:
            return found
    return _model_in(default_model_dir())


def _why_not(path: Path) -> str:
    """Why `path` is not a model folder, in a few words."""
    if not path.exists():
        return "does not exist"
    if not path.is_dir():
        return "is a file, not a folder"
    if not (path / "am" / "final.mdl").is_file():
        return "has no am/final.mdl (not an unzipped Vosk model, or one folder too high/low)"
    return "has no conf/ folder"


def describe_missing(configured: Path | None, source: ModelSource = MANDARIN_MODEL) -> str:
    """A multi-line message: which model is missing, where we looked, and how to get it."""
    cache = default_model_dir(source)
    lines = [f"The speech recognition model {source.name} was not found.", "Looked in:"]
    if configured is not None:
        lines.append(f"  - {configured} ({ENV_MODEL_PATH}): {_why_not(Path(configured).expanduser())}")
    else:
        lines.append(f"  - {ENV_MODEL_PATH}: not set")
    lines.append(f"  - {cache} (user cache): {_why_not(cache)}")
    lines += [
        "To get it:",
        "  - run `hotline model fetch` (downloads, checks and unpacks it into the user cache), or",
        f"  - download {source.url} (about {source.size_mb} MB,",
        f"    sha256 {source.sha256}),",
        f"    unzip it, and set {ENV_MODEL_PATH} to the unzipped {source.name} folder",
        f"    (or move that folder to {cache}).",
    ]
    return "\n".join(lines)


class SharedModel:
    """One `vosk.Model` per process, loaded on first use; thread-safe."""

    def __init__(self, configured: Path | None = None, source: ModelSource = MANDARIN_MODEL) -> None:
        self._configured = Path(configured) if configured is not None else None
        self._source = source
        self._lock = threading.Lock()
        self._model: vosk.Model | None = None
        self._path: Path | None = None

    @property
    def name(self) -> str:
        """Folder name of the model in use (or of the one expected, while none is found)."""
        path = self._path or find_model(self._configured)
        return path.name if path is not None else self._source.name

    @property
    def path(self) -> Path | None:
        """Folder of the loaded model, or the one that would be loaded, or None."""
        return self._path or find_model(self._configured)

    def available(self) -> bool:
        """True when loaded or when a model is on disk now (checked afresh each call)."""
        return self._model is not None or find_model(self._configured) is not None

    def get(self) -> vosk.Model:
        """The shared model, loading it on first call; raises ModelMissing when none is on disk."""
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                path = find_model(self._configured)
                if path is None:
                    raise ModelMissing(describe_missing(self._configured, self._source))
                self._model = vosk.Model(str(path))
                self._path = path
            return self._model


def fetch_model(
    dest_dir: Path,
    url: str = MANDARIN_MODEL.url,
    sha256: str = MANDARIN_MODEL.sha256,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Download a model zip, check its sha256, unpack it and move it to `dest_dir` atomically; returns `dest_dir`."""
    # progress(bytes_done, bytes_total) after each chunk; bytes_total is 0 when the server does not say.
    import httpx

    dest_dir = Path(dest_dir)
    if is_model_dir(dest_dir):
        return dest_dir
    if dest_dir.exists():
        raise ModelFetchError(
            f"{dest_dir} exists but is not a Vosk model ({_why_not(dest_dir)}). Remove it or choose another folder."
        )
    manual = (
        f"To install it by hand: download {url} on a machine with internet access, check that its sha256 is "
        f"{sha256}, unzip it, and put the unzipped model folder at {dest_dir} "
        f"(or anywhere, and set {ENV_MODEL_PATH} to it)."
    )
    try:
        dest_dir.parent.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{dest_dir.name}.", dir=dest_dir.parent))
    except OSError as exc:
        raise ModelFetchError(f"Cannot write to {dest_dir.parent}: {exc}.\n{manual}") from exc
    try:
        archive = work / "model.zip"
        digest = hashlib.sha256()
        try:
            with httpx.stream("GET", url, follow_redirects=True, timeout=httpx.Timeout(30.0)) as response:
                response.raise_for_status()
                total = int(response.headers.get("Content-Length") or 0)
                done = 0
                with archive.open("wb") as out:
                    for chunk in response.iter_bytes(1 << 16):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        if progress is not None:
                            progress(done, total)
        except httpx.HTTPError as exc:
            raise ModelFetchError(f"Could not download the model from {url}: {exc}.\n{manual}") from exc
        if digest.hexdigest() != sha256.lower():
            raise ModelFetchError(
                f"The file downloaded from {url} is not the expected one: sha256 {digest.hexdigest()}, "
                f"expected {sha256} (a broken download, or a proxy's page).\n{manual}"
            )
        unpacked = work / "unpacked"
        try:
            with zipfile.ZipFile(archive) as zf:
                zf.extractall(unpacked)  # zipfile drops absolute and ".." parts of member names
        except zipfile.BadZipFile as exc:
            raise ModelFetchError(f"The file from {url} is not a valid zip: {exc}.\n{manual}") from exc
        model = _model_in(unpacked)
        if model is None:
            raise ModelFetchError(f"The zip from {url} holds no Vosk model (no am/final.mdl and conf/).\n{manual}")
        try:
            os.replace(model, dest_dir)
        except OSError as exc:
            if not is_model_dir(dest_dir):  # else another process has just put it there: fine
                raise ModelFetchError(f"Could not move the model into {dest_dir}: {exc}.\n{manual}") from exc
        return dest_dir
    except OSError as exc:  # disk full, permissions
        raise ModelFetchError(f"Could not store the model under {dest_dir.parent}: {exc}.\n{manual}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
