"""certified_inverse: the certified inverse as one function call, over CertifiedInverter objects it keeps.

The method (neuralinv.certified.fast): fast approximate inverses of matrices from a region, each with a rigorous
error bound, from a Taylor guess around the region's nearest centre and Newton-Schulz steps; what that does not
certify takes the exact path (neuralinv.certified.fallback), and "auto" (neuralinv.certified.cost) picks the cheaper
of the two per batch. A caller that inverts batches repeatedly may hold a CertifiedInverter itself instead.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from neuralinv.certified.cost import Calibration
from neuralinv.certified.geometry import Geometry, residual_radius
from neuralinv.certified.inputs import INITS, METHODS, as_dtype, check_settings, resolve
from neuralinv.certified.inverter import CertifiedInverter
from neuralinv.certified.result import CertifiedInverse
from neuralinv.linalg.exact import Scratch
from neuralinv.nets.mlp import Network
from neuralinv.regions.shapes import Region

__all__ = [
    "INITS",
    "METHODS",
    "CertifiedInverse",
    "CertifiedInverter",
    "InverterCache",
    "INVERTERS",
    "certified_inverse",
]


class InverterCache:
    """The CertifiedInverters that certified_inverse reuses between calls: one per region geometry and settings (the
    `size` most recently used), all sharing one Calibration (the machine's costs, measured once per process or read
    from the on-disk timing cache) and one Scratch (work buffers, per thread). So repeated calls keep auto's probe
    decisions and their buffers, as a held CertifiedInverter does. Inverters whose initial guess is a network are
    built afresh each call (with the shared calibration and buffers), not kept."""

    def __init__(self, size: int = 64):
        self.size = size
        self.calibration = Calibration()
        self.scratch = Scratch()
        self._inverters: OrderedDict = OrderedDict()
        # (id(region), settings) -> (region, key): a Region object seen before skips working out its key (a few us)
        self._seen: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, region=None, *, tol, method, init, max_steps, residual_dtype, spd) -> CertifiedInverter:
        """The inverter for these arguments (those of CertifiedInverter), kept or new."""
        quick = _identity_key(region, tol, method, init, max_steps, residual_dtype, spd)
        with self._lock:
            seen = self._seen.get(quick) if quick is not None else None
            if seen is not None and seen[0] is region and seen[1] in self._inverters:
                self._inverters.move_to_end(seen[1])
                return self._inverters[seen[1]]
        check_settings(tol, method, max_steps)
        reg, init = resolve(region, init)
        r = None if residual_dtype is None else as_dtype(residual_dtype, None)
        settings = dict(tol=tol, method=method, init=init, max_steps=max_steps, residual_dtype=r, spd=spd)
        if isinstance(init, Network):
            return CertifiedInverter(reg, calibration=self.calibration, scratch=self.scratch, **settings)
        # An inverter's behaviour depends on its region only through the geometry and the residual's radius.
        key = (Geometry.of(reg).key, residual_radius(reg), float(tol), method, init, max_steps, r, spd)
        with self._lock:
            inverter = self._inverters.get(key)
            if inverter is None:
                inverter = CertifiedInverter(reg, calibration=self.calibration, scratch=self.scratch, **settings)
                self._inverters[key] = inverter
                while len(self._inverters) > self.size:
                    self._inverters.popitem(last=False)
            else:
                self._inverters.move_to_end(key)
            if quick is not None:
                self._seen[quick] = (region, key)  # holding region keeps its id from being reused
                while len(self._seen) > self.size:
                    self._seen.popitem(last=False)
        return inverter

    def clear(self) -> None:
        """Forget every kept inverter (their decisions and plans); the calibration and buffers stay."""
        with self._lock:
            self._inverters.clear()
            self._seen.clear()


def _identity_key(region, *settings) -> tuple | None:
    """(id(region), *settings) for a Region object with hashable settings, else None."""
    if not isinstance(region, Region):
        return None
    key = (id(region), *settings)
    try:
        hash(key)
    except TypeError:
        return None
    return key


INVERTERS = InverterCache()  # the inverters certified_inverse keeps (see InverterCache)


def certified_inverse(
    a,
    *,
    region=None,
    tol: float = 1e-4,
    method: str = "auto",
    init="taylor1",
    max_steps: int | None = None,
    residual_dtype=None,
    spd: bool | None = None,
) -> CertifiedInverse:
    """Inverses of the matrices a (..., n, n) of a region, each with a rigorous relative error bound.

    a: NumPy array or torch tensor (any device); float32 stays float32, float64 stays float64, integers become float64.
    The other arguments are CertifiedInverter's (region, tol, method, init, max_steps, residual_dtype, spd; see its
    docstring): this is CertifiedInverter(region, ...)(a), with the inverter kept in INVERTERS for the next call.
    Matrices not certified go to the fastest exact path measured on this machine (see neuralinv.linalg.exact), with
    a bound. Returns a CertifiedInverse (see its docstring); its route says what was chosen and why.
    """
    inverter = INVERTERS.get(
        region, tol=tol, method=method, init=init, max_steps=max_steps, residual_dtype=residual_dtype, spd=spd
    )
    return inverter(a)
