"""The MLflow model registry: log a model, verify it by checksum, promote it through the gate,
roll back. Pickled models are loaded only from this registry, and only after the SHA-256 of the
pickle matches the one recorded when it was logged.

Registered names are ``hazleads-enterprise`` and ``hazleads-tip``; the alias ``champion`` is the
model in service. Moving an alias is one database write, so promotion is atomic; the previous
champion is kept in the version's tags, so promotion is reversible.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import logging
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from hazleads.settings import Settings

log = logging.getLogger(__name__)

EXPERIMENT = "hazleads"
NAMES = {"enterprise": "hazleads-enterprise", "tip": "hazleads-tip"}
CHAMPION = "champion"
PICKLE = "model.pkl"


class ModelLoadError(RuntimeError):
    """A registered model that cannot be trusted or loaded: missing, corrupted, wrong checksum."""


def configure(settings: Settings) -> str:
    """Point MLflow at the settings' tracking store; create the experiment with artifacts in home."""
    uri = settings.mlflow_uri
    # MLflow warns on every pickle save; our own checksum is what guards loading (see load_version)
    logging.getLogger("mlflow.sklearn").setLevel(logging.ERROR)
    # mlflow.set_tracking_uri also writes MLFLOW_TRACKING_URI into the environment, which the settings
    # read as the user's own choice: keep the environment as the user left it
    before = os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before
    with _store_lock(uri):
        _create_sqlite_store(uri)
        if mlflow.get_experiment_by_name(EXPERIMENT) is None:
            try:
                mlflow.create_experiment(EXPERIMENT, artifact_location=settings.mlflow_artifacts.as_uri())
            except MlflowException:  # created meanwhile by another process
                pass
        mlflow.set_experiment(EXPERIMENT)
    return uri


@contextlib.contextmanager
def _store_lock(uri: str):
    """Hold an exclusive lock beside a SQLite tracking store while MLflow first opens it.

    MLflow creates and migrates its tables the first time a process opens a store; two processes
    doing that at once on a new file (two services started together, a service and ``hazleads
    train``) collide ("duplicate column name: step") and can leave the store half-migrated, after
    which every registry call fails. The lock makes the first opening one process at a time."""
    if not uri.startswith("sqlite:///"):
        yield
        return
    db = Path(uri[len("sqlite:///"):])
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _create_sqlite_store(uri: str) -> None:
    """A new SQLite store made whole before it takes its name (called under ``_store_lock``).

    MLflow creates and migrates its tables the first time a store is opened: dozens of Alembic steps,
    a second or more. A process killed meanwhile (a power cut during a first training, whose store
    ``training.registry_warmup`` opens while the features are built) left a half-migrated file, and
    every later run failed on it ("table _alembic_tmp_experiments already exists"). Here the tables
    are made in a side file that is then renamed into place: a kill leaves only the side file, which
    the next opening removes before starting again."""
    if not uri.startswith("sqlite:///"):
        return
    name = uri[len("sqlite:///"):].split("?", 1)[0]
    if name in ("", ":memory:") or name.startswith("file:"):  # no file of ours to make whole
        return
    db = Path(name)
    if db.exists():
        return
    from mlflow.store.db.utils import (  # what MLflow's stores call
        _initialize_tables,
        create_sqlalchemy_engine,
    )

    for stale in db.parent.glob(f".{db.name}.*.new"):  # left by a process killed here (the lock is ours)
        stale.unlink(missing_ok=True)
    side = db.with_name(f".{db.name}.{os.getpid()}.new")
    engine = create_sqlalchemy_engine(f"sqlite:///{side}")
    try:
        _initialize_tables(engine)
    finally:
        engine.dispose()
    os.replace(side, db)


SIGNATURE_BYTES = 64  # hex HMAC-SHA256 at the head of a signed entry


def signing_key(home: Path) -> bytes:
    """The home's own key for what it keeps outside the registry and must unpickle (the folds kept by
    ``training.fold_cache``): 32 random bytes made on first use, readable by the home's owner only."""
    path = Path(home) / ".signing_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".signing_key.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(os.urandom(32).hex())
        try:
            os.link(tmp, path)  # the first process to make one wins; the others read it
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    try:
        key = bytes.fromhex(path.read_text().strip())
    except ValueError:
        key = b""
    if len(key) != 32:
        raise ModelLoadError(f"{path}: not a signing key; remove it (the folds kept with it are then fitted again)")
    return key


def dump_signed(obj, path: Path, key: bytes) -> None:
    """Pickle ``obj`` to ``path`` behind its HMAC under ``key``, written whole or not at all."""
    data = cloudpickle.dumps(obj)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(hmac.new(key, data, "sha256").hexdigest().encode() + data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load_signed(path: Path, key: bytes):
    """What ``dump_signed`` wrote to ``path``; ``ModelLoadError`` (nothing unpickled) when its HMAC
    under ``key`` does not match: changed, cut short, or written with another home's key."""
    raw = Path(path).read_bytes()
    head, data = raw[:SIGNATURE_BYTES], raw[SIGNATURE_BYTES:]
    if not hmac.compare_digest(head, hmac.new(key, data, "sha256").hexdigest().encode()):
        raise ModelLoadError(f"{path}: signature does not match its contents; not loaded")
    return cloudpickle.loads(data)  # signed by this home (dump_signed), checked just above


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log_model(model, kind: str, example: pd.DataFrame, tags: dict[str, str] | None = None) -> str:
    """Log ``model`` in the active run, register it, record its checksum; returns the new version."""
    name = NAMES[kind]
    ex = example.head(50)
    with warnings.catch_warnings():
        # integer columns in the example, and the pickle caution: our own checksum guards loading
        warnings.simplefilter("ignore", UserWarning)
        signature = infer_signature(ex, model.predict_proba(ex))
        info = mlflow.sklearn.log_model(
            model, name=kind, registered_model_name=name, signature=signature,
            serialization_format="cloudpickle",
            pip_requirements=["scikit-learn", "lightgbm", "pandas", "numpy", "cloudpickle"],
        )
    version = str(info.registered_model_version)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=info.model_uri))
    client = MlflowClient()
    client.set_model_version_tag(name, version, "sha256", sha256_file(local / PICKLE))
    for k, v in (tags or {}).items():
        client.set_model_version_tag(name, version, k, str(v))
    return version


def _fetch(name: str, version: str, cache: Path | None) -> Path:
    """The version's artifacts in a local folder: ``cache/name/version`` (downloaded once, moved into
    place atomically) or a fresh temporary folder. The checksum is verified by the caller every time."""
    uri = f"models:/{name}/{version}"
    if cache is None:
        return Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=tempfile.mkdtemp(prefix="hazleads-model-")))
    target = cache / name / version
    if (target / PICKLE).exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=target.parent))
    try:
        local = Path(mlflow.artifacts.download_artifacts(artifact_uri=uri, dst_path=str(tmp)))
        try:
            os.replace(local, target)
        except OSError:  # another process put it there first
            if not (target / PICKLE).exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


@dataclass
class LoadedModel:
    kind: str
    version: str
    model: object
    tags: dict[str, str]


def load_version(kind: str, version: str | None = None, alias: str | None = None, cache: Path | None = None) -> LoadedModel:
    """Download, verify and load one registered version (by number or alias). Raises ModelLoadError."""
    name = NAMES[kind]
    client = MlflowClient()
    try:
        mv = client.get_model_version_by_alias(name, alias) if alias else client.get_model_version(name, str(version))
    except MlflowException as exc:
        raise ModelLoadError(f"{name} {alias or version}: not in the registry ({exc.error_code})") from None
    expected = mv.tags.get("sha256")
    if not expected:
        raise ModelLoadError(f"{name} v{mv.version}: no checksum recorded; refusing to unpickle it")
    try:
        target = _fetch(name, str(mv.version), cache)
        # The bytes checked are the bytes unpickled: read once, hashed, then loaded from memory. MLflow's
        # own loader is not used, because it follows the MLmodel file (``pickled_model``, ``code`` paths),
        # which no checksum covers: an edited MLmodel would have it unpickle an unchecked file.
        data = (target / PICKLE).read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        if actual != expected:
            raise ModelLoadError(f"{name} v{mv.version}: checksum mismatch (recorded {expected[:12]}, found {actual[:12]}); not loaded")
        model = cloudpickle.loads(data)  # logged with serialization_format="cloudpickle" (log_model)
    except ModelLoadError:
        raise
    except Exception as exc:  # a corrupted artifact fails in many ways; none may reach service
        raise ModelLoadError(f"{name} v{mv.version}: cannot be loaded: {type(exc).__name__}: {exc}") from None
    return LoadedModel(kind, str(mv.version), model, dict(mv.tags))


def champion_tag(kind: str, key: str) -> str | None:
    """A tag of the current champion version (None without a champion or without that tag)."""
    try:
        return MlflowClient().get_model_version_by_alias(NAMES[kind], CHAMPION).tags.get(key)
    except MlflowException:
        return None


def champion_version(kind: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(NAMES[kind], CHAMPION).version)
    except MlflowException:
        return None


@dataclass
class GateDecision:
    kind: str
    version: str
    promoted: bool
    reason: str
    new_metric: float
    champion_version: str | None
    champion_metric: float | None


def gate(kind: str, version: str, in_memory_scores: np.ndarray, rows: pd.DataFrame, metric_fn,
         metric_name: str, compare_champion: bool = True) -> GateDecision:
    """Promote ``version`` to champion if, loaded back from the registry, it reproduces its scores,
    does not give (nearly) one score to every row, and — with ``compare_champion`` — is at least as
    good as the current champion on the same rows (``metric_fn(scores) -> float``)."""
    from training.select import is_constant

    name = NAMES[kind]
    client = MlflowClient()
    try:
        loaded = load_version(kind, version=version)
        scores = loaded.model.predict_proba(rows)[:, 1]
    except (ModelLoadError, Exception) as exc:  # noqa: BLE001 - any failure refuses promotion
        return _refuse(client, kind, version, f"the new version does not load back: {exc}", np.nan, None, None)
    if not np.allclose(scores, in_memory_scores, rtol=1e-7, atol=1e-9):
        return _refuse(client, kind, version, "the new version loaded back does not reproduce its scores", np.nan, None, None)
    new = float(metric_fn(scores))
    current = champion_version(kind)
    if is_constant(scores):
        return _refuse(client, kind, version, "it gives (nearly) one score to every row: a list in date order, not a ranking",
                       new, current, None)
    champ_metric = None
    if current is not None and compare_champion:
        try:
            champ = load_version(kind, alias=CHAMPION)
            champ_metric = float(metric_fn(champ.model.predict_proba(rows)[:, 1]))
        except Exception as exc:  # noqa: BLE001 - a champion that cannot load is replaced
            log.warning("champion %s v%s cannot be scored (%s); the new version replaces it", name, current, exc)
    if champ_metric is not None and not (new >= champ_metric - 1e-12 or (np.isnan(champ_metric) and not np.isnan(new))):
        return _refuse(client, kind, version,
                       f"{metric_name} {new:.4f} is below the champion v{current}'s {champ_metric:.4f} on the same rows",
                       new, current, champ_metric)
    # the way back is recorded before the alias moves: a process killed in between leaves a champion
    # that can still be rolled back (and a tag on a version that is not champion is harmless)
    client.set_model_version_tag(name, version, "previous_champion", current or "")
    client.set_registered_model_alias(name, CHAMPION, version)
    if champ_metric is not None:
        note = f" vs {champ_metric:.4f}"
    elif current is None:
        note = " (first champion)"
    else:
        note = f" (v{current} was trained with these outcomes: not compared)" if not compare_champion else ""
    client.set_model_version_tag(name, version, "gate", f"promoted: {metric_name} {new:.4f}" + note)
    return GateDecision(kind, version, True, "promoted" + note, new, current, champ_metric)


def _refuse(client, kind, version, reason, new, current, champ_metric) -> GateDecision:
    client.set_model_version_tag(NAMES[kind], version, "gate", f"not promoted: {reason}")
    return GateDecision(kind, version, False, reason, new, current, champ_metric)


def promote(kind: str, version: str) -> None:
    """Make ``version`` the champion by hand (after it loads and verifies)."""
    load_version(kind, version=version)
    client = MlflowClient()
    current = champion_version(kind)
    client.set_model_version_tag(NAMES[kind], version, "previous_champion", current or "")  # before the move
    client.set_registered_model_alias(NAMES[kind], CHAMPION, version)


def rollback(kind: str) -> str:
    """Return the champion alias to the version it replaced; returns that version."""
    client = MlflowClient()
    current = champion_version(kind)
    if current is None:
        raise ModelLoadError(f"{NAMES[kind]} has no champion to roll back")
    previous = client.get_model_version(NAMES[kind], current).tags.get("previous_champion")
    if not previous:
        raise ModelLoadError(f"{NAMES[kind]} v{current} replaced no earlier champion")
    load_version(kind, version=previous)
    client.set_registered_model_alias(NAMES[kind], CHAMPION, previous)
    return previous


def list_versions(kind: str) -> pd.DataFrame:
    client = MlflowClient()
    try:
        versions = client.search_model_versions(f"name='{NAMES[kind]}'")
    except MlflowException:
        return pd.DataFrame()
    champ = champion_version(kind)
    rows = [{"version": str(v.version), "champion": str(v.version) == champ, "run_id": v.run_id,
             "created": pd.Timestamp(v.creation_timestamp, unit="ms"), "gate": v.tags.get("gate", ""),
             "metric": v.tags.get("gate_metric", ""), "source": v.tags.get("model", "")} for v in versions]
    return pd.DataFrame(rows).sort_values("version", key=lambda s: s.astype(int)) if rows else pd.DataFrame()
