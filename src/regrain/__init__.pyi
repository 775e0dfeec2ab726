"""Type stub of :mod:`regrain`: the lazily loaded public names, re-exported from where they are
defined, so that type checkers see their real signatures. A test keeps it in step with
``regrain._EXPORTS``."""

# ruff: noqa: I001  (one import per module reads better than isort's one line per name)

from regrain._bands import (
    merge as merge,
    merge_scales as merge_scales,
    split as split,
    split_scales as split_scales,
)
from regrain._batch import (
    BatchInterrupted as BatchInterrupted,
    BatchSummary as BatchSummary,
    Pair as Pair,
    PairResult as PairResult,
    Pairing as Pairing,
    pair_folders as pair_folders,
    read_manifest as read_manifest,
    run_batch as run_batch,
)
from regrain._blend import (
    BLEND_MODES as BLEND_MODES,
    blend as blend,
    luminosity_blend as luminosity_blend,
    mode_key as mode_key,
)
from regrain._detect import (
    TextureReport as TextureReport,
    inspect as inspect,
)
from regrain._filters import (
    gaussian_blur as gaussian_blur,
    high_pass as high_pass,
    radius_to_sigma as radius_to_sigma,
)
from regrain._graft import (
    graft as graft,
)
from regrain._grain import (
    GRAIN_MATERIALS as GRAIN_MATERIALS,
    GrainMaterial as GrainMaterial,
    add_grain as add_grain,
)
from regrain._materials import (
    GrainRecipe as GrainRecipe,
    MATERIALS as MATERIALS,
    Material as Material,
)
from regrain._psd import (
    PsdLayer as PsdLayer,
    read_psd_stack as read_psd_stack,
    write_psd_stack as write_psd_stack,
)
from regrain._restore import (
    RestoreResult as RestoreResult,
    restore as restore,
)
from regrain.errors import (
    ImageFileError as ImageFileError,
    ParameterError as ParameterError,
    RegrainError as RegrainError,
)
from regrain.io import (
    ImageInfo as ImageInfo,
    read_image as read_image,
    read_mask as read_mask,
    write_image as write_image,
)

__version__: str
__all__: list[str]
