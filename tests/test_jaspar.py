"""The one JASPAR loader: release and taxon checks, by id and by taxon agree."""

from __future__ import annotations

import numpy as np
import pytest

from mhsa_bio.errors import InputError
from mhsa_bio.io.jaspar import check_jaspar, fetch_by_id, fetch_core, normalise_release


def test_release_names() -> None:
    assert normalise_release("2024") == normalise_release(" jaspar2024") == "JASPAR2024"
    assert check_jaspar("2024", "vertebrates") == "JASPAR2024"
    with pytest.raises(InputError, match=r"--jaspar-release: unknown release 'JASPAR1999'"):
        check_jaspar("1999")
    with pytest.raises(InputError, match=r"--taxon martians: expected one of vertebrates"):
        check_jaspar("2024", "martians")


def test_by_id_and_core_give_the_same_counts() -> None:
    (gata,) = fetch_by_id(["MA0035.4"], release="2024")
    assert (gata.id, gata.name, gata.counts.shape) == ("MA0035.4", "GATA1", (11, 4))
    assert gata.counts.dtype == np.float64 and (gata.counts >= 0).all()
    (latest,) = fetch_by_id(["MA0035"], release="2024")  # no version: the latest
    core = {m.id: m for m in fetch_core("2024", "vertebrates")}  # the latest of each
    assert latest.id.startswith("MA0035.") and latest.id in core
    np.testing.assert_array_equal(core[latest.id].counts, latest.counts)
    with pytest.raises(InputError, match=r"unknown JASPAR motif id 'MA9999.9' in JASPAR2024"):
        fetch_by_id(["MA9999.9"])
