"""The allocator setting of one-shot commands: freed planes are reused without new page faults,
and the pixels a command writes do not depend on it."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc on Linux only")

CYCLE = textwrap.dedent(
    """
    import resource, sys
    import numpy as np
    from regrain._malloc import keep_freed_memory
    took = keep_freed_memory() if sys.argv[1] == "keep" else None
    def faults_of_one_plane():
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        plane = np.ones((4000, 6000), np.float32)  # 96 MB, like a 24 MP luma plane
        plane += 1
        del plane
        return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    first = faults_of_one_plane()
    second = faults_of_one_plane()
    print(took, first, second)
    """
)


def _cycle(mode: str) -> tuple[str, int, int]:
    out = subprocess.run(
        [sys.executable, "-c", CYCLE, mode], capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], int(out[1]), int(out[2])


def test_a_freed_plane_is_reused_without_page_faults():
    took, first, second = _cycle("keep")
    assert took == "True"
    assert first > 100  # the first plane is fresh memory
    assert second < first / 10, (first, second)


def test_without_the_setting_every_plane_is_fresh_memory():
    """The test above can fail: glibc's default gives a 96 MB plane back to the kernel."""
    _, first, second = _cycle("default")
    assert second > first / 2, (first, second)


def test_restore_output_is_the_same_with_the_setting(tmp_path):
    """The setting changes where memory comes from, never a pixel: the CLI's output equals the
    library's result computed in this (default-allocator) process, bit for bit."""
    import regrain

    rng = np.random.default_rng(3)
    photo = (0.5 + 0.05 * rng.standard_normal((160, 192, 3))).astype(np.float32)
    plastic = photo.copy()
    plastic[40:120, 50:150] = 0.5 + 0.3 * (plastic[40:120, 50:150] - 0.5)
    original, edited = tmp_path / "o.tif", tmp_path / "e.tif"
    regrain.write_image(original, np.clip(photo, 0, 1), bits=16)
    regrain.write_image(edited, np.clip(plastic, 0, 1), bits=16)
    out = tmp_path / "out.tif"
    subprocess.run(
        [sys.executable, "-m", "regrain", "restore", original, edited, "-o", out, "--quiet"],
        check=True,
    )
    o, _ = regrain.read_image(original)
    e, info = regrain.read_image(edited)
    expected = tmp_path / "expected.tif"
    regrain.write_image(expected, regrain.restore(o, e).image, info)
    assert np.array_equal(regrain.read_image(out)[0], regrain.read_image(expected)[0])


def test_one_shot_commands_take_the_setting_and_batch_does_not():
    """The console script sets it for single-image commands only (a batch's workers and the
    review server are long-lived)."""
    probe = textwrap.dedent(
        """
        import sys
        from unittest import mock
        import regrain.cli as cli
        with mock.patch("regrain._malloc.keep_freed_memory") as keep, mock.patch.object(cli, "app"):
            sys.argv = ["regrain", sys.argv[1]]
            cli.main()
        print(keep.called)
        """
    )
    said = {
        command: subprocess.run(
            [sys.executable, "-c", probe, command], capture_output=True, text=True, check=True
        ).stdout.strip()
        for command in ("restore", "convert", "batch", "review")
    }
    assert said == {"restore": "True", "convert": "True", "batch": "False", "review": "False"}
