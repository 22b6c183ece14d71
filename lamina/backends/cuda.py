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
* **Set-up and read-out** (:func:`patch_sources`, applied to the generated code before it is
  compiled): brian2cuda's program spends most of a large run outside the loop — a ``std::map``
  over every synapse to detect repeated (pre, post) pairs, one ``cudaMemcpy`` per pre neuron to
  build the spike queue, and an end-of-run dump of every array (synapses included) to disk.
  lamina replaces the first by an O(synapses) scan, the second by one copy, and writes only the
  arrays it reads back (monitors, clocks, the state checked for blow-ups). Each patch matches the
  exact code of brian2cuda 1.0b1 and is skipped (the code left as generated) where it does not.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, ClassVar

import brian2 as b2

from ..config import Experiment
from ..errors import BackendUnavailable, SimulationError
from .standalone import VECTORISE_FLAGS, StandaloneBackend

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


_MAP_CHECK = re.compile(
    r"std::map<std::pair<int32_t, int32_t>, int32_t> source_target_count;\s*"
    r"for \(int _i=0; _i<(?P<n>\w+); _i\+\+\)\s*\{\s*"
    r"(?://[^\n]*\n\s*)*"
    r"const std::pair<int32_t, int32_t> source_target = std::pair<int32_t, int32_t>\((?P<pre>\w+)\[_i\], (?P<post>\w+)\[_i\]\);\s*"
    r"source_target_count\[source_target\]\+\+;\s*(?://[^\n]*\n\s*)*"
    r"if \(source_target_count\[source_target\] > 1\)\s*\{\s*(?P<flag>\w+_multiple_pre_post) = true;\s*break;\s*\}\s*\}")

_MAP_CHECK_NEW = """// lamina: repeated (pre, post) pairs found in O(synapses) (brian2cuda's std::map took ~1 us per
    // synapse): keys in increasing order, as the generator appends them, cannot repeat; otherwise
    // sort a copy and compare neighbours.
    {{
        std::vector<uint64_t> _lamina_keys({n});
        bool _lamina_increasing = true;
        for (int _i=0; _i<{n}; _i++)
        {{
            _lamina_keys[_i] = ((uint64_t)(uint32_t){pre}[_i] << 32) | (uint64_t)(uint32_t){post}[_i];
            if (_i > 0 && _lamina_keys[_i] <= _lamina_keys[_i-1]) _lamina_increasing = false;
        }}
        if (!_lamina_increasing)
        {{
            std::sort(_lamina_keys.begin(), _lamina_keys.end());
            for (int _i=1; _i<{n}; _i++)
                if (_lamina_keys[_i] == _lamina_keys[_i-1]) {{ {flag} = true; break; }}
        }}
    }}"""

_QUEUE_COPY = """            h_ptr_d_ptr_synapse_ids_by_pre[i] = d_ptr_synapse_ids + sum_num_elements;
            CUDA_SAFE_CALL(
                    cudaMemcpy(h_ptr_d_ptr_synapse_ids_by_pre[i],
                        thrust::raw_pointer_cast(&(h_vec_synapse_ids_by_pre[i][0])),
                        sizeof(int32_t) * num_elements,
                        cudaMemcpyHostToDevice)
                    );"""
_QUEUE_COPY_NEW = """            h_ptr_d_ptr_synapse_ids_by_pre[i] = d_ptr_synapse_ids + sum_num_elements;
            // lamina: staged on the host and copied once after the loop (a cudaMemcpy per pre
            // neuron cost seconds at 10^6 neurons)
            if (_lamina_ids.empty()) _lamina_ids.resize(syn_N);
            std::copy(h_vec_synapse_ids_by_pre[i].begin(), h_vec_synapse_ids_by_pre[i].end(),
                      _lamina_ids.begin() + sum_num_elements);"""
_QUEUE_LOOP = "    // loop through connectivity matrix [(preID, postBlock) pairs]\n"
_QUEUE_END = "    }  // end for loop through connectivity matrix\n"
_QUEUE_END_NEW = _QUEUE_END + """    if (!_lamina_ids.empty())  // lamina: the one copy of the staged synapse IDs
        CUDA_SAFE_CALL(cudaMemcpy(d_ptr_synapse_ids, _lamina_ids.data(), sizeof(int32_t) * _lamina_ids.size(),
                                  cudaMemcpyHostToDevice));
"""
_WRITE_FN = re.compile(r"^void _write_arrays\(\)\n\{\n(?P<body>.*?)^\}\n", re.S | re.M)
_WRITE_END = re.compile(r'[ \t]*std::cout << "Error writing output file for (?P<name>\w+)\." << endl;\n[ \t]*\}\n')


def _includes(src: str) -> str:
    return "#include <algorithm>\n#include <vector>\n#include <cstdint>\n" + src


def patch_sources(project: str | Path, keep: set[str] | None = None) -> dict[str, int]:
    """Speed up the set-up and read-out of a generated brian2cuda project in place.

    Parameters
    ----------
    project
        The project directory (generated, not yet compiled).
    keep
        Names of the arrays whose end-of-run files are read back (``None``: write every array).

    Returns
    -------
    dict
        How many places each patch changed: ``pair_check`` (synapse creation), ``queue_copy``
        (spike queue set-up), ``writes_dropped`` (arrays not written at the end of the run),
        ``timing`` (``lamina-timing`` lines: seconds from the start of ``main`` to the loop, to
        the end of the loop, to the end of the program).
    """
    project = Path(project)
    done = {"pair_check": 0, "queue_copy": 0, "writes_dropped": 0, "timing": 0}
    for f in sorted((project / "code_objects").glob("*.cu")):
        src = f.read_text()
        new, n = _MAP_CHECK.subn(lambda m: _MAP_CHECK_NEW.format(**m.groupdict()), src)
        if n:
            done["pair_check"] += n
        if _QUEUE_COPY in new and _QUEUE_LOOP in new and _QUEUE_END in new:
            new = new.replace(_QUEUE_COPY, _QUEUE_COPY_NEW)
            new = new.replace(_QUEUE_LOOP, "    std::vector<int32_t> _lamina_ids;  // lamina: see below\n" + _QUEUE_LOOP, 1)
            new = new.replace(_QUEUE_END, _QUEUE_END_NEW, 1)
            done["queue_copy"] += 1
        if new != src:
            f.write_text(_includes(new))
    main = project / "main.cu"
    src = main.read_text() if main.exists() else ""
    if "int main(int argc, char **argv)\n{\n" in src and src.count("    brian_end();\n") == 1 \
            and re.search(r"^[ \t]*network(?:_\d+)?\.run\(", src, re.M):
        # where the program's time goes (set-up, loop, end-of-run writes), read by CudaBackend.execute
        stamp = 'std::cout << "lamina-timing {} " << std::chrono::duration<double>(std::chrono::steady_clock::now() - _lamina_t0).count() << std::endl;'
        src = "#include <chrono>\n" + src.replace(
            "int main(int argc, char **argv)\n{\n",
            "int main(int argc, char **argv)\n{\n    const auto _lamina_t0 = std::chrono::steady_clock::now();\n", 1)
        # (a second network in a process is "network_1")
        src = re.sub(r"^([ \t]*)(network(?:_\d+)?\.run\()", lambda m: m.group(1) + stamp.format("setup") + "\n" + m.group(1) + m.group(2),
                     src, count=1, flags=re.M)
        src = src.replace("    brian_end();\n", "    " + stamp.format("run") + "\n    brian_end();\n    "
                          + stamp.format("end") + "\n", 1)
        main.write_text(src)
        done["timing"] = 1
    if keep is not None:
        objects = project / "objects.cu"
        src = objects.read_text()
        m = _WRITE_FN.search(src)
        if m:
            body, pos, kept = m.group("body"), 0, []
            for end in _WRITE_END.finditer(body):
                chunk = body[pos:end.end()]
                pos = end.end()
                name = end.group("name")
                decl = f"    ofstream outfile_{name};\n"
                # drop exactly one array's copy-and-write: from its device-to-host copy (or its
                # dynamic array's assignment) to its error line; what precedes it stays
                if name in keep or chunk.count("ofstream ") != 1 or decl not in chunk:
                    kept.append(chunk)
                    continue
                head = chunk[:chunk.index(decl)]
                n = re.escape(name)
                copy = re.search(r"(?:[ \t]*CUDA_SAFE_CALL\(\s*cudaMemcpy\(" + n + r", dev" + n + r",[^;]*;[ \t]*\n"
                                 r"|[ \t]*" + n + r" = dev" + n + r";[ \t]*\n)\Z", head)
                kept.append(head[:copy.start()] if copy else head)
                done["writes_dropped"] += 1
            body = "".join(kept) + body[pos:]
            objects.write_text(src[:m.start("body")] + body + src[m.end("body"):])
    return done


def program_timing(text: str) -> dict[str, float]:
    """The program's own account of its time (``lamina-timing`` lines and brian2cuda's INFO lines):
    ``program_setup_s`` (start of main to the loop: arrays, synapse creation, spike queues),
    ``program_end_s`` (after the loop: brian2cuda's end-of-run copies and writes),
    ``synapse_creation_s`` and ``spike_queue_s`` (summed over Synapses objects)."""
    marks = {m.group(1): float(m.group(2)) for m in re.finditer(r"^lamina-timing (\w+) ([0-9.eE+-]+)", text, re.M)}
    out: dict[str, float] = {}
    if "setup" in marks:
        out["program_setup_s"] = marks["setup"]
    if "run" in marks and "end" in marks:
        out["program_end_s"] = marks["end"] - marks["run"]
    for key, pat in (("synapse_creation_s", r"INFO: \w+ creation took ([0-9.eE+-]+)s"),
                     ("spike_queue_s", r"INFO: \w+ initialisation took ([0-9.eE+-]+)s")):
        found = [float(x) for x in re.findall(pat, text)]
        if found:
            out[key] = sum(found)
    return out


def _patching() -> bool:
    """``LAMINA_CUDA_PATCH=0`` compiles the code exactly as brian2cuda generates it (a separate
    program: the key says so), e.g. to check that the patches change no spike."""
    return os.environ.get("LAMINA_CUDA_PATCH", "1") != "0"


def read_back_arrays(device: Any) -> set[str]:
    """Names of the device arrays read after a run: monitors, clocks, the state that
    :func:`lamina.backends.base.check_state` looks at and every differential-equation variable of
    a group (Brian2's own end-of-run check for invalid values reads them all)."""
    from brian2 import Clock, PopulationRateMonitor, SpikeMonitor, StateMonitor
    from brian2.equations.equations import Equations

    keep = {"last_run_info"}
    # dynamic arrays (monitors' i, t …) are written under their own names, not those in `arrays`
    for table in (device.arrays, device.dynamic_arrays, device.dynamic_arrays_2d):
        for var, name in table.items():
            owner = getattr(var, "owner", None)
            try:
                eqs = getattr(owner, "equations", None)
                monitor = isinstance(owner, (SpikeMonitor, StateMonitor, PopulationRateMonitor, Clock))
            except ReferenceError:  # an owner (e.g. a subgroup) that no longer exists
                continue
            if monitor or var.name in ("v", "w", "I_noise") or \
                    (isinstance(eqs, Equations) and var.name in eqs.diff_eq_names):
                keep.add(name)
    return keep


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
        return ("sm", self.compute_capability) + (() if _patching() else ("unpatched",))

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
        # (preferences are global in a process: drop what a cpp build before this one added)
        p.codegen.cpp.extra_compile_args_gcc = [a for a in p.codegen.cpp.extra_compile_args_gcc
                                                if not a.startswith(("-std=", "-march=", "-mtune="))
                                                and a not in VECTORISE_FLAGS] + ["-std=c++17"]
        # The GPU heap holds spike queues of delayed synapses (not the monitors): sized by the
        # network (bytes per synapse delay slot), at least brian2cuda's 128 MB.
        cb.gpu_heap_size = max(128, int(sum(l.size for l in exp.layers) * batch * 64 / 2**20) + 128)
        p.devices.cpp_standalone.extra_make_args_unix = [f"-j{os.cpu_count() or 2}"]
        # stderr into stdout.txt: the program reports unread run_args files on stderr and exits 0
        p.devices.cpp_standalone.run_cmd_unix = ["/bin/sh", "-c", 'exec ./main "$@" 2>&1', "main"]
        _curand_from_wheel(p)

    def patch_sources(self, project: Path) -> None:
        self.patches = patch_sources(project, read_back_arrays(self._device)) if _patching() else {}

    def execute(self, exp, built, values, current, device_seed, progress):
        if self.build_only or not self.gpu:
            raise BackendUnavailable("--backend cuda: compiled only (no GPU here); run it where a GPU is")
        # progress=False: the program's output goes to stdout.txt, where unread run_args show up
        timing = super().execute(exp, built, values, current, device_seed, False)
        out = self._results / "stdout.txt"
        text = out.read_text(errors="replace") if out.exists() else ""
        check_program_output(text)
        return {**timing, **program_timing(text)}
