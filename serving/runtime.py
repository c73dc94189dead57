"""What the running service holds in memory: the snapshot it serves, the champion models, the
feature set at the latest as-of date (the evidence investigators open) and the map layers.

Swapping any of them is one attribute assignment, so a request sees either the old or the new
object, never a half-updated one. A champion that fails to load leaves the previous one serving.
"""

from __future__ import annotations

import gc
import logging
import threading
from pathlib import Path

from hazleads.settings import Settings
from hazleads.state import read_state
from serving.db.engine import Database
from serving.listcache import ListCache
from serving.metrics import Metrics

log = logging.getLogger("hazleads.serving")
KINDS = ("enterprise", "tip")


class Runtime:
    def __init__(self, settings: Settings, db: Database, metrics: Metrics, data: Path | None = None,
                 train_config=None, history_months: int = 6, loaded=None) -> None:
        self.settings = settings
        self.db = db
        self.metrics = metrics
        self.data = Path(data).resolve() if data else None
        self.train_config = train_config
        self.history_months = history_months
        self.snapshot = None
        self._handed = loaded  # training.pipeline.LoadedSnapshot, served by the first load if its path is the source
        self._handed_features = None  # its FeatureSet at the last day, taken by the first build at that day
        self.snapshot_path: Path | None = None
        self.digest: str | None = None
        self.ctx = None  # serving.context.SnapshotContext
        self.lists = ListCache()  # lead-list answers kept while the data version holds
        self.places = None  # features.geo.PlaceIndex
        self.gazetteer = None  # features.gazetteer.Gazetteer: the names a tip's words may use
        self.places_geojson: dict | None = None
        self.features = None  # features.build.FeatureSet at the snapshot's last day
        self.features_version = 0  # moves after each swap of ``features``: what a kept vehicle list is valid for
        self._stop_index = None  # stops detected once per snapshot, reused at every as-of date
        self.models: dict[str, object | None] = dict.fromkeys(KINDS)  # training.registry.LoadedModel
        self.model_errors: dict[str, str] = {}
        self.phase = "starting"  # starting, loading, scoring, ready, degraded
        self.problem: str | None = None
        self.scoring_lock = threading.Lock()
        # one tip scored at a time: scoring is Python and pandas under the GIL; eight at once in the
        # worker threads took twice as long each as eight in a row (BENCHMARKS.md, "Tip intake")
        self.intake_lock = threading.Lock()
        self.training_lock = threading.Lock()
        self.progress: dict[int, str] = {}  # job id -> last progress message
        self._swap = threading.Lock()
        self.rescore_lock = threading.Lock()  # guards rescore_waiting
        self.rescore_waiting = False  # a re-score after a champion change is queued and has not started

    # ---- snapshot -------------------------------------------------------------------------

    def snapshot_source(self) -> Path | None:
        if self.data is not None:
            return self.data
        last = read_state(self.settings).get("last_trained_snapshot")
        return Path(last) if last else None

    def load_snapshot(self) -> bool:
        """Load the snapshot to serve; False (with ``problem`` set) if there is none or it is unusable.

        A snapshot handed over by a training run in this process (``loaded``, ``hazleads demo``)
        is served instead of reading the same folder again, with the stops the run detected."""
        from features import SnapshotError, load_snapshot
        from features.build import place_index
        from features.snapshot import snapshot_digest

        path = self.snapshot_source()
        if path is None:
            self.problem = "no snapshot: run `hazleads train --data DATA` or start with `--data DATA`"
            return False
        handed, self._handed = self._handed, None  # once: a later load reads the folder again
        if handed is not None and handed.path == Path(path).resolve():
            # with the stops the training detected and the features it built at the last day
            self.use_snapshot(handed.snapshot, path, handed.digest, handed.places, handed.stop_index, handed.features)
            return True
        try:
            snap = load_snapshot(path)
        except SnapshotError as exc:
            self.problem = f"snapshot {path} is unusable: {len(exc.errors)} problem(s); see `hazleads validate`"
            return False
        except OSError as exc:
            self.problem = f"snapshot {path} cannot be read: {exc.strerror or exc}"
            return False
        self.use_snapshot(snap, path, snapshot_digest(path), place_index(snap))
        return True

    def use_snapshot(self, snap, path: Path, digest: str, places, stop_index=None, features=None) -> None:
        """Serve ``snap`` (already loaded and validated); ``stop_index`` and ``features`` (a
        FeatureSet) when they were computed on it already (handed over by a training run)."""
        from features.build import gazetteer_of
        from serving import lookup
        from serving.context import SnapshotContext
        from serving.geo import places_collection
        from serving.placenames import namer_for

        lookup.for_snapshot(snap)  # each vehicle's fixes, each enterprise's power rows: the detail pages' lookups
        namer_for(snap)  # and the places' names
        with self._swap:
            self._stop_index, self._handed_features = stop_index, features
        self.snapshot, self.snapshot_path, self.digest = snap, Path(path), digest
        self.ctx, self.places, self.gazetteer = SnapshotContext(snap), places, gazetteer_of(snap)
        self.lists.clear()
        self.places_geojson = places_collection(snap.places)
        log.info("snapshot loaded", extra={"snapshot": str(path), "digest": digest[:12],
                                           "last_day": str(snap.last_day.date())})

    def build_features(self, as_of):
        """The feature set at ``as_of`` (stop detection shared between as-of dates); the first build
        at the day of a feature set handed over by the training (``hazleads demo``) takes it."""
        from features.build import build
        from features.timeutil import as_of_day
        from features.trajectory_features import build_stop_index

        day = as_of_day(as_of)
        with self._swap:
            handed = self._handed_features
            if handed is not None and handed.as_of == day:
                self._handed_features = None  # taken once; its day built again later is built afresh
            else:
                handed = None
            if self._stop_index is None:
                self._stop_index = build_stop_index(self.snapshot)
            index = self._stop_index
        if handed is not None:
            fs = handed
        else:
            fs = build(self.snapshot, as_of, trajectory_index=index, places=self.places)
        # the tables made on first read are made now, not by the first page that reads them (two
        # request threads would both make them; no page waits; every answer is then the same
        # whichever page came first): the sites, the vehicles' trajectory features, the driving rules
        return fs.settle()

    def serve_features(self, fs) -> None:
        """Serve ``fs`` as the evidence behind the detail pages, its lookups (``serving.lookup``) and
        its vehicle index (``serving.chain.prepare``) built first, so that no page waits for them."""
        from serving import chain, lookup

        lookup.for_features(fs)
        if self.snapshot is not None and self.ctx is not None:
            try:
                chain.prepare(fs, self.snapshot, self.ctx)  # the vehicles' counties and ranks
            except Exception:  # the vehicle pages try again (and say so); the features are served anyway
                log.exception("vehicle index not built; the vehicle pages will build it")
        self.features = fs
        # moved after the swap: whoever reads the version first then sees these features or newer ones
        self.features_version += 1

    # ---- models ---------------------------------------------------------------------------

    def versions(self) -> dict[str, str | None]:
        return {k: (m.version if m is not None else None) for k, m in self.models.items()}

    def load_champions(self) -> bool:
        """Load each kind's champion if it is not the one serving; True if any changed.

        A version that fails to load (checksum, unpickling) is recorded in ``model_errors`` and the
        one already serving stays."""
        from training import registry

        registry.configure(self.settings)
        changed = False
        with self._swap:
            for kind in KINDS:
                current = self.models.get(kind)
                want = registry.champion_version(kind)
                if want is None or (current is not None and current.version == want):
                    continue
                (self.settings.models_dir / registry.NAMES[kind]).mkdir(parents=True, exist_ok=True)
                try:
                    loaded = registry.load_version(kind, alias=registry.CHAMPION, cache=self.settings.models_dir)
                except registry.ModelLoadError as exc:
                    self.model_errors[kind] = str(exc)
                    self.metrics.model_load_failures.labels(kind).inc()
                    log.error("champion failed to load; the previous model keeps serving",
                              extra={"kind": kind, "version": want, "error": str(exc),
                                     "serving": current.version if current else None})
                    continue
                self.models = {**self.models, kind: loaded}
                self.model_errors.pop(kind, None)
                self.metrics.set_model(kind, loaded.version)
                log.info("champion loaded", extra={"kind": kind, "version": loaded.version})
                changed = True
        return changed

    # ---- memory ---------------------------------------------------------------------------

    def settle_memory(self) -> None:
        """Collect what the last swap left behind, then move the long-lived objects (snapshot,
        features, models: several hundred thousand) out of the collector's way, so that a full
        collection during a request does not walk them (pauses of ~0.3 s otherwise)."""
        gc.unfreeze()
        gc.collect()
        gc.freeze()

    # ---- readiness ------------------------------------------------------------------------

    def readiness(self) -> dict[str, object]:
        return {
            "phase": self.phase,
            "snapshot": self.snapshot is not None,
            "features": self.features is not None,
            "enterprise_model": (self.models.get("enterprise") or None) is not None,
            "problem": self.problem,
        }
