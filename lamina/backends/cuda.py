"""GPU backend: brian2cuda 1.0b1 (``cuda_standalone``) through the shared compile-once recipe.

What lamina does around brian2cuda, and why (each measured, see ``../shared/brian-notes.md``):

* **Seed**: brian2cuda has no ``brian::_random_generators``; cuRAND (noise *and* the host-side
  synapse creation) is seeded by ``brian::random_number_buffer.set_seed``, here from
  ``$LAMINA_SEED`` at the top of ``main()``, so the seed is a run-time value.
* **run_args files**: the generated program lower-cases the value of every ``NAME=VALUE``
  argument before opening it, but Brian2 writes array files under the variable's own case, so
  arrays of ``C``, ``gNa``, ``E_exc`` … and the stimulus ``I_stim`` were silently not applied
  (zero spikes, exit status 0). lamina writes them under lower-case names, merges the program's
  stderr into its stdout and fails the run if the program reports any file it could not read.
* **C++17** for CUDA 13's Thrust/CUB; no ``-march=native`` (a program built on one host runs on
  another); ``--build-only`` compiles without a GPU (``detect_gpus = False``, a given compute
  capability, default 9.0).
* **cuRAND headers**: a toolkit without ``curand.h`` (pip-style installs) uses the
  ``nvidia-curand`` wheel when it is installed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import brian2 as b2

from ..config import Experiment
from ..errors import BackendUnavailable, SimulationError
from .standalone import StandaloneBackend

#: Compute capability compiled for when no GPU is detected (H100/H200).
DEFAULT_COMPUTE_CAPABILITY = 9.0
#: Lines of the program's output that mean a run-time value was not applied.
_NOT_APPLIED = ("Error reading", "Could not read", "Error writing")


def check_program_output(text: str) -> None:
    """Raise :class:`SimulationError` if the program's output says a run-time value file was not
    read: brian2cuda then runs with whatever the arrays held and exits 0 (zero spikes, seen)."""
    bad = [l for l in text.splitlines() if l.lstrip().startswith(_NOT_APPLIED)]
    if bad:  # never run with defaults silently
        raise SimulationError(f"the GPU program did not apply its run-time values ({bad[0].strip()[:200]})")


def gpu_present() -> bool:
    """True if ``nvidia-smi`` lists at least one GPU."""
    exe = shutil.which("nvidia-smi")
    if exe is None:
        return False
    try:
        out = subprocess.run([exe, "-L"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and "GPU" in out.stdout


def _nvcc() -> str | None:
    cuda = os.environ.get("CUDA_PATH") or os.environ.get("CUDA_HOME")
    if cuda and (Path(cuda) / "bin" / "nvcc").exists():
        return str(Path(cuda) / "bin" / "nvcc")
    return shutil.which("nvcc")


def _patch_run_arg_names(device_class: type) -> None:
    """Write array run_args under lower-case file names (the program opens the lower-cased name)."""
    if getattr(device_class, "_lamina_lowercase_run_args", False):
        return
    prep_var, prep_ta = device_class._prepare_variableview_run_arg, device_class._prepare_timed_array_run_arg

    def lower(result):
        name, string_value, value_name, value_ar = result
        if value_name:  # the name still holds the data's md5, so no two arrays clash
            value_name, string_value = value_name.lower(), string_value.lower()
        return name, string_value, value_name, value_ar

    device_class._prepare_variableview_run_arg = lambda self, k, v: lower(prep_var(self, k, v))
    device_class._prepare_timed_array_run_arg = lambda self, k, v: lower(prep_ta(self, k, v))
    device_class._lamina_lowercase_run_args = True


def _curand_from_wheel(prefs: Any) -> None:
    """If the CUDA toolkit lacks cuRAND's headers, use the ``nvidia-curand`` wheel's."""
    nvcc = _nvcc()
    if nvcc and (Path(nvcc).resolve().parent.parent / "include" / "curand.h").exists():
        return
    try:
        import nvidia  # namespace package of the nvidia-* wheels
    except ImportError:
        return
    for base in map(Path, nvidia.__path__):
        for root in (base / "cu13", base / "curand"):
            if (root / "include" / "curand.h").exists():
                lib = root / "lib"
                link_dir = Path(os.environ.get("LAMINA_CACHE", Path.home() / ".cache" / "lamina")) / "curand-lib"
                link_dir.mkdir(parents=True, exist_ok=True)
                link = link_dir / "libcurand.so"
                if not link.exists():
                    target = next(iter(sorted(lib.glob("libcurand.so*"))), None)
                    if target is None:
                        return
                    link.symlink_to(target)
                inc = f"-I{root / 'include'}"
                cb = prefs.devices.cuda_standalone.cuda_backend
                if inc not in cb.extra_compile_args_nvcc:
                    cb.extra_compile_args_nvcc += [inc]
                if str(link_dir) not in prefs.codegen.cpp.library_dirs:
                    prefs.codegen.cpp.library_dirs += [str(link_dir)]
                    prefs.codegen.cpp.runtime_library_dirs += [str(lib)]
                return


class CudaBackend(StandaloneBackend):
    """brian2cuda's ``cuda_standalone``: one compiled program per structure, run on the GPU."""

    name = "cuda"
    device_name = "cuda_standalone"
    seed_code: ClassVar[str] = """
{   // lamina: per-run seed without recompiling (cuRAND host + device API; see lamina/backends/cuda.py)
    const char* _lamina_seed = getenv("LAMINA_SEED");
    unsigned long long _s = _lamina_seed ? strtoull(_lamina_seed, NULL, 10) : 0ULL;
    brian::random_number_buffer.set_seed(_s);
}
"""

    def __init__(self, cache_dir: str | Path | None = None, build_only: bool = False,
                 compute_capability: float | None = None):
        try:
            import brian2cuda  # noqa: F401 — registers the cuda_standalone device
        except ImportError:
            raise BackendUnavailable("--backend cuda needs brian2cuda: pip install -e '.[cuda]' "
                                     "(brian2cuda 1.0b1)") from None
        if _nvcc() is None:
            raise BackendUnavailable("--backend cuda needs the CUDA compiler nvcc on PATH (or CUDA_PATH): "
                                     "install the CUDA toolkit 12 or 13")
        self.build_only = build_only
        self.gpu = gpu_present()
        if not self.gpu and not build_only:
            raise BackendUnavailable("--backend cuda found no GPU (nvidia-smi lists none): use --backend cpp, "
                                     "or --build-only to compile without running")
        env_cc = os.environ.get("LAMINA_CUDA_CC")
        self.compute_capability = float(compute_capability or env_cc or DEFAULT_COMPUTE_CAPABILITY)
        super().__init__(cache_dir)
        from brian2cuda.device import CUDAStandaloneDevice

        _patch_run_arg_names(CUDAStandaloneDevice)

    def key_extra(self) -> tuple:
        # the program is compiled for one compute capability; the GPU is picked per process by
        # CUDA_VISIBLE_DEVICES (the compiled-in device id 0 counts only the visible GPUs)
        return ("sm", self.compute_capability)

    def configure(self, exp: Experiment, batch: int) -> None:
        super().configure(exp, batch)
        p = b2.prefs
        cb = p.devices.cuda_standalone.cuda_backend
        # Compile for a fixed capability (the key says which) rather than whatever GPU this host has.
        cb.detect_gpus = False
        cb.gpu_id = 0
        cb.compute_capability = self.compute_capability
        if "-std=c++17" not in cb.extra_compile_args_nvcc:
            cb.extra_compile_args_nvcc += ["-std=c++17"]
        p.codegen.cpp.extra_compile_args_gcc = [a for a in p.codegen.cpp.extra_compile_args_gcc
                                                if not a.startswith(("-std=", "-march=", "-mtune="))] + ["-std=c++17"]
        # The GPU heap holds spike queues of delayed synapses (not the monitors): sized by the
        # network (bytes per synapse delay slot), at least brian2cuda's 128 MB.
        cb.gpu_heap_size = max(128, int(sum(l.size for l in exp.layers) * batch * 64 / 2**20) + 128)
        p.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 2}"]
        # stderr into stdout.txt: the program reports unread run_args files on stderr and exits 0
        p.devices.cpp_standalone.run_cmd_unix = ["/bin/sh", "-c", 'exec ./main "$@" 2>&1', "main"]
        _curand_from_wheel(p)

    def execute(self, exp, built, values, current, device_seed, progress):
        if self.build_only or not self.gpu:
            raise BackendUnavailable("--backend cuda: compiled only (no GPU here); run it where a GPU is")
        # progress=False: the program's output goes to stdout.txt, where unread run_args show up
        timing = super().execute(exp, built, values, current, device_seed, False)
        out = self._results / "stdout.txt"
        check_program_output(out.read_text(errors="replace") if out.exists() else "")
        return timing
