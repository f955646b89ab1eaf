"""TEMPORARY (issue 17): the one device registry until `clln_theory.model.devices` has it.

The physics helper adds ``DEVICES`` and ``device_named`` to ``clln_theory/model/devices.py``;
the integrator deletes this file at the merge and points its importers at
``from ..model.devices import DEVICES, device_named``.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

try:  # after the merge
    from ..model.devices import DEVICES, device_named  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - before the merge
    from ..errors import ArgumentError
    from ..model import LinearDevice, OhmicMOSFET, ThreeRegimeMOSFET

    DEVICES: Mapping[str, type[Any]] = {  # type: ignore[no-redef]
        "three-regime": ThreeRegimeMOSFET,
        "ohmic": OhmicMOSFET,
        "linear": LinearDevice,
    }

    def device_named(name: str, *, name_of: str = "device") -> Any:
        """The device called ``name`` (one of `DEVICES`), or `ArgumentError` naming the nearest."""
        if isinstance(name, str) and name in DEVICES:
            return DEVICES[name]()
        near = difflib.get_close_matches(str(name).replace("_", "-"), list(DEVICES), n=1)
        hint = f"; did you mean {near[0]!r}?" if near else ""
        raise ArgumentError(
            f"Argument `{name_of}` must be one of {list(DEVICES)}, but is {name!r}{hint}"
        )


__all__ = ["DEVICES", "device_named"]
