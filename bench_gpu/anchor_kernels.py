"""Times the anchors (the best public kernels) on exactly the shapes seqbench_gpu_bench's rows use and
writes one JSON file the bench reads with --anchors, so ours / anchor comes from one session on one
machine. Run it just before the bench:

    PYTHONPATH=.anchors python3 bench_gpu/anchor_kernels.py --out anchors.json

Anchors: PyTorch SDPA (cuDNN and FlashAttention-2 backends), flash-linear-attention's chunk and
fused-recurrent kernels, and mamba_ssm's mamba_chunk_scan_combined and selective_state_update; their
sources are not part of
the repository (put them under .anchors/). Timing: triton.testing.do_bench, which flushes the L2
cache before every repetition as the bench's timer does; the median and the repetitions are kept.

Every row is {"key", "impl", "ms", "samples_ms"} or {"key", "impl", "error"}: a missing module or a
kernel that fails (some backward passes do not compile on Hopper with Triton 3.6) becomes an error
row for each key it would have measured, never a crash. Keys match bench_gpu/gpu_bench_group.h:
<family>.<fwd|bwd>.L<length>, softmax.decode.B<batch>.L<length>, <family>.decode.B<batch> (the
recurrent families: gla_scalar, gla, delta, gated_delta, linear, ssd), ceiling.copy and ceiling.gemm.
"""
import argparse
import json
import os
import statistics
import sys
import traceback

import torch
import torch.nn.functional as F

TOKENS, HEADS, HEAD_DIM = 65536, 16, 128  # B * L tokens at every length, as the bench's rows
LENGTHS = (1024, 4096, 16384)
DECODE_BATCHES, DECODE_LENGTHS = (16, 1), (4096, 16384, 65536)
MAX_SAMPLES = 100  # kept per row; the median is taken over all of them first
DEVICE = "cuda"


def error_text(e):
    return f"{type(e).__name__}: {str(e).strip()[:300]}"


class AnchorRows:
    """Collects rows; `measure` turns any failure into an error row."""

    def __init__(self, rep_ms, out_path):
        self.rows, self.rep_ms, self.out_path = [], rep_ms, out_path

    def save(self):
        """Rewrites the whole file after every row (atomically), so a run cut short by a time limit
        keeps what it measured; compiling every anchor's Triton kernels cold takes minutes."""
        tmp = self.out_path + ".tmp"
        with open(tmp, "w") as out:
            json.dump({"device": torch.cuda.get_device_name(), "versions": versions(), "rows": self.rows}, out,
                      indent=1)
        os.replace(tmp, self.out_path)

    def time(self, fn, grad_to_none=None):
        try:
            from triton.testing import do_bench
            samples = do_bench(fn, warmup=25, rep=self.rep_ms, grad_to_none=grad_to_none, return_mode="all")
        except ImportError:  # no Triton: CUDA events around each call (no L2 flush)
            samples = []
            for _ in range(30):
                start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                fn()
                stop.record()
                torch.cuda.synchronize()
                samples.append(start.elapsed_time(stop))
        samples = sorted(float(s) for s in samples)
        median = statistics.median(samples)
        step = max(1, len(samples) // MAX_SAMPLES)
        return median, samples[::step][:MAX_SAMPLES]

    def measure(self, key, impl, fn, grad_to_none=None, **extra):
        try:
            ms, samples = self.time(fn, grad_to_none)
            row = {"key": key, "impl": impl, "ms": ms, "samples_ms": samples, **extra}
        except Exception as e:  # noqa: BLE001 -- an anchor that cannot run is a result, not a crash
            row = {"key": key, "impl": impl, "error": error_text(e), **extra}
        self.rows.append(row)
        self.save()
        print(json.dumps({k: v for k, v in row.items() if k != "samples_ms"}), flush=True)
        return row

    def fail(self, keys, impl, e):
        for key in keys:
            self.rows.append({"key": key, "impl": impl, "error": error_text(e)})
            print(json.dumps(self.rows[-1]), flush=True)
        self.save()

    def fwd_bwd(self, family, L, impl, forward, inputs):
        """Forward, then backward of one output (retain_graph so it can repeat); a forward that fails
        fails both rows."""
        fwd_key, bwd_key = f"{family}.fwd.L{L}", f"{family}.bwd.L{L}"
        try:
            out = forward()
            grad = torch.randn_like(out)
        except Exception as e:  # noqa: BLE001
            self.fail([fwd_key, bwd_key], impl, e)
            return
        self.measure(fwd_key, impl, forward)
        self.measure(bwd_key, impl, lambda: out.backward(grad, retain_graph=True), grad_to_none=inputs)
        del out, grad
        torch.cuda.empty_cache()


def bf16(*shape, grad=True):
    return torch.randn(*shape, dtype=torch.bfloat16, device=DEVICE).requires_grad_(grad)


def ceilings(rows):
    """The limits every rate is read against; the same work as the bench's ceiling rows."""
    src = torch.ones(2 << 30, dtype=torch.uint8, device=DEVICE)  # 2 GiB read and written
    dst = torch.empty_like(src)
    rows.measure("ceiling.copy", "torch-copy", lambda: dst.copy_(src))
    del src, dst
    a, b = bf16(8192, 8192, grad=False), bf16(8192, 8192, grad=False)
    rows.measure("ceiling.gemm", "torch-matmul", lambda: a @ b)


def softmax(rows, lengths):
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backends = {"torch-sdpa-cudnn": SDPBackend.CUDNN_ATTENTION, "torch-sdpa-flash2": SDPBackend.FLASH_ATTENTION}
    for L in lengths:
        q, k, v = (bf16(TOKENS // L, HEADS, L, HEAD_DIM) for _ in range(3))
        for impl, backend in backends.items():
            def forward(backend=backend):
                with sdpa_kernel(backend):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=True)
            rows.fwd_bwd("softmax", L, impl, forward, [q, k, v])
        del q, k, v
    for B in DECODE_BATCHES:
        for L in DECODE_LENGTHS:
            q = bf16(B, HEADS, 1, HEAD_DIM, grad=False)
            k, v = bf16(B, HEADS, L, HEAD_DIM, grad=False), bf16(B, HEADS, L, HEAD_DIM, grad=False)
            for impl, backend in backends.items():
                def step(backend=backend):
                    with sdpa_kernel(backend):
                        return F.scaled_dot_product_attention(q, k, v)
                rows.measure(f"softmax.decode.B{B}.L{L}", impl, step)
            del q, k, v
            torch.cuda.empty_cache()


FLA_FAMILIES = ("linear", "linear_normalised", "gla_scalar", "gla", "delta", "gated_delta")


def fla_chunked(rows, lengths, families=FLA_FAMILIES):
    """flash-linear-attention's chunk kernels on [B, L, H, D] bf16 tensors (keys L2-normalised for
    the delta rule, log decays from logsigmoid as its layers make them)."""
    try:
        from fla.ops import (chunk_delta_rule, chunk_gated_delta_rule, chunk_gla, chunk_linear_attn,
                             chunk_simple_gla)
    except Exception as e:  # noqa: BLE001
        rows.fail([f"{f}.{p}.L{L}" for L in lengths for f in families for p in ("fwd", "bwd")], "fla", e)
        return
    for L in lengths:
        B = TOKENS // L
        q, v = bf16(B, L, HEADS, HEAD_DIM), bf16(B, L, HEADS, HEAD_DIM)
        k = F.normalize(bf16(B, L, HEADS, HEAD_DIM, grad=False), dim=-1).requires_grad_()
        g_scalar = F.logsigmoid(torch.randn(B, L, HEADS, device=DEVICE)).requires_grad_()
        g_channel = F.logsigmoid(torch.randn(B, L, HEADS, HEAD_DIM, device=DEVICE)).requires_grad_()
        beta = torch.rand(B, L, HEADS, dtype=torch.bfloat16, device=DEVICE).requires_grad_()
        cases = {
            "linear": ("fla-chunk_linear_attn", lambda: chunk_linear_attn(q, k, v, normalize=False)[0], []),
            "linear_normalised": ("fla-chunk_linear_attn", lambda: chunk_linear_attn(q, k, v, normalize=True)[0], []),
            "gla_scalar": ("fla-chunk_simple_gla", lambda: chunk_simple_gla(q, k, v, g=g_scalar)[0], [g_scalar]),
            "gla": ("fla-chunk_gla", lambda: chunk_gla(q, k, v, g=g_channel)[0], [g_channel]),
            "delta": ("fla-chunk_delta_rule", lambda: chunk_delta_rule(q, k, v, beta)[0], [beta]),
            "gated_delta": ("fla-chunk_gated_delta_rule",
                            lambda: chunk_gated_delta_rule(q, k, v, g_scalar, beta)[0], [g_scalar, beta]),
        }
        for family in families:
            impl, forward, extra = cases[family]
            rows.fwd_bwd(family, L, impl, forward, [q, k, v] + extra)
        del q, k, v, g_scalar, g_channel, beta, cases
        torch.cuda.empty_cache()


# Decode step of each recurrent family: the fla.ops function and how it is called on one token
# (q, k, v [B, 1, H, D] bf16, keys unit-norm; g [B, 1, H] and gk [B, 1, H, D] log decays; beta [B, 1, H])
# against a fp32 state [B, H, D, D], the final state returned as the bench's kernels leave it in place.
FLA_DECODE = {
    "gla_scalar": ("fused_recurrent_simple_gla", lambda f, x: f(x["q"], x["k"], x["v"], g=x["g"], **x["state"])),
    "gla": ("fused_recurrent_gla", lambda f, x: f(x["q"], x["k"], x["v"], gk=x["gk"], **x["state"])),
    "delta": ("fused_recurrent_delta_rule", lambda f, x: f(x["q"], x["k"], x["v"], beta=x["beta"], **x["state"])),
    "gated_delta": ("fused_recurrent_gated_delta_rule",
                    lambda f, x: f(x["q"], x["k"], x["v"], g=x["g"], beta=x["beta"], **x["state"])),
    "linear": ("fused_recurrent_linear_attn", lambda f, x: f(x["q"], x["k"], x["v"], **x["state"])),
}


def fla_decode(rows):
    """One recurrent step per family against a fp32 state, as the bench's decode rows; a function this
    fla lacks, or one that fails, becomes an error row for its keys."""
    try:
        import fla.ops as ops
    except Exception as e:  # noqa: BLE001
        rows.fail([f"{family}.decode.B{B}" for family in FLA_DECODE for B in DECODE_BATCHES], "fla", e)
        return
    for family, (name, call) in FLA_DECODE.items():
        impl, fn = f"fla-{name}", getattr(ops, name, None)
        for B in DECODE_BATCHES:
            key = f"{family}.decode.B{B}"
            if fn is None:
                rows.fail([key], impl, AttributeError(f"fla.ops has no {name}"))
                continue
            x = {"q": bf16(B, 1, HEADS, HEAD_DIM, grad=False), "v": bf16(B, 1, HEADS, HEAD_DIM, grad=False),
                 "k": F.normalize(bf16(B, 1, HEADS, HEAD_DIM, grad=False), dim=-1),
                 "g": F.logsigmoid(torch.randn(B, 1, HEADS, device=DEVICE)),
                 "gk": F.logsigmoid(torch.randn(B, 1, HEADS, HEAD_DIM, device=DEVICE)),
                 "beta": torch.rand(B, 1, HEADS, dtype=torch.bfloat16, device=DEVICE),
                 "state": {"initial_state": torch.randn(B, HEADS, HEAD_DIM, HEAD_DIM, device=DEVICE),
                           "output_final_state": True}}
            rows.measure(key, impl, lambda fn=fn, call=call, x=x: call(fn, x))
            del x
        torch.cuda.empty_cache()


def mamba_decode(rows):
    """Mamba-2's decode step (selective_state_update) at the SSD rows' shapes, 32 heads of 64, state 128,
    one B/C group, against a fp32 state [B, 32, 64, 128]; A, dt, dt_bias and D tied over the head
    dimension (stride 0) as Mamba2.step passes them."""
    heads, head_dim, state_dim = 32, 64, 128
    keys, impl = [f"ssd.decode.B{B}" for B in DECODE_BATCHES], "mamba_ssm-selective_state_update"
    try:
        ssu = import_skipping_package_init("mamba_ssm.ops.triton.selective_state_update", "mamba_ssm", sys.path)
    except Exception as e:  # noqa: BLE001
        rows.fail(keys, impl, e)
        return
    for B, key in zip(DECODE_BATCHES, keys):
        state = torch.randn(B, heads, head_dim, state_dim, device=DEVICE)
        x = bf16(B, heads, head_dim, grad=False)
        dt = bf16(B, heads, 1, grad=False).expand(-1, -1, head_dim)
        dt_bias = torch.randn(heads, 1, device=DEVICE).expand(-1, head_dim)
        A = (-torch.rand(heads, 1, 1, device=DEVICE) * 4).expand(-1, head_dim, state_dim)
        D = torch.randn(heads, 1, device=DEVICE).expand(-1, head_dim)
        Bm, Cm = bf16(B, 1, state_dim, grad=False), bf16(B, 1, state_dim, grad=False)
        rows.measure(key, impl, lambda: ssu.selective_state_update(state, x, dt, A, Bm, Cm, D=D, dt_bias=dt_bias,
                                                                   dt_softplus=True))
        del state, x, dt, dt_bias, A, D, Bm, Cm
        torch.cuda.empty_cache()


def import_skipping_package_init(module, package, roots):
    """mamba_ssm's __init__ imports its compiled CUDA extensions, which the Triton SSD kernels do not
    need: when that import fails, register the package without running its __init__ and retry."""
    import importlib
    import os
    import types
    try:
        return importlib.import_module(module)
    except ImportError:
        for name in [m for m in sys.modules if m == package or m.startswith(package + ".")]:
            del sys.modules[name]
        paths = [os.path.join(r, package) for r in roots if os.path.isdir(os.path.join(r, package))]
        if not paths:
            raise
        stub = types.ModuleType(package)
        stub.__path__ = paths
        sys.modules[package] = stub
        return importlib.import_module(module)


def mamba_ssd(rows, lengths):
    """Mamba-2's SSD: 32 heads of 64, state 128, one B/C group, chunk 256, as the bench's SSD rows."""
    heads, head_dim, state = 32, 64, 128
    try:
        ssd = import_skipping_package_init("mamba_ssm.ops.triton.ssd_combined", "mamba_ssm", sys.path)
    except Exception as e:  # noqa: BLE001
        rows.fail([f"ssd.{p}.L{L}" for L in lengths for p in ("fwd", "bwd")], "mamba_ssm", e)
        return
    for L in lengths:
        B = TOKENS // L
        x = bf16(B, L, heads, head_dim)
        dt = F.softplus(torch.randn(B, L, heads, device=DEVICE) - 4).requires_grad_()
        A = (-torch.rand(heads, device=DEVICE) * 4).requires_grad_()
        Bm, Cm = bf16(B, L, 1, state), bf16(B, L, 1, state)
        rows.fwd_bwd("ssd", L, "mamba_ssm-mamba_chunk_scan_combined",
                     lambda: ssd.mamba_chunk_scan_combined(x, dt, A, Bm, Cm, chunk_size=256), [x, dt, A, Bm, Cm])
        del x, dt, A, Bm, Cm
        torch.cuda.empty_cache()


def versions():
    found = {"torch": torch.__version__, "cuda": torch.version.cuda,
             "cudnn": str(torch.backends.cudnn.version())}
    for name in ("triton", "fla", "mamba_ssm"):
        module = sys.modules.get(name)
        if module is not None:
            found[name] = str(getattr(module, "__version__", "unknown"))
    return found


def compile_in_parallel(sections, families, lengths_arg, jobs):
    """Fills Triton's disk cache (TRITON_CACHE_DIR) before the timed run, one process per fla family
    and per other Triton section, `jobs` side by side: compiling every anchor cold in one process takes
    longer than ten minutes (the chunk kernels autotune over many configurations), one process per
    family under four on 16 cores. Their timings are thrown away: they share the GPU."""
    import concurrent.futures
    import subprocess
    import tempfile
    import time

    work = [["--sections", "fla", "--families", f] for f in families] if "fla" in sections else []
    work += [["--sections", name] for name in ("ssd", "decode") if name in sections]
    start = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        commands = [[sys.executable, os.path.abspath(__file__), *w, "--lengths", lengths_arg, "--rep-ms", "1",
                     "--out", os.path.join(tmp, f"warm{i}.json")] for i, w in enumerate(work)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            codes = list(pool.map(lambda c: subprocess.run(c, stdout=subprocess.DEVNULL).returncode, commands))
    print(f"compiled in {len(commands)} processes, {jobs} at a time, in {time.time() - start:.0f} s "
          f"(exit codes {codes})", file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="anchors.json", help="the JSON file seqbench_gpu_bench --anchors reads")
    parser.add_argument("--sections", default="ceiling,softmax,fla,ssd,decode",
                        help="comma-separated subset of ceiling, softmax, fla, ssd, decode")
    parser.add_argument("--families", default=",".join(FLA_FAMILIES),
                        help="the fla section's families (a subset lets separate processes compile Triton's "
                             "kernels in parallel into one TRITON_CACHE_DIR before a timed run)")
    parser.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="training lengths (B = 65536 / L)")
    parser.add_argument("--rep-ms", type=float, default=200, help="do_bench's time budget per row")
    parser.add_argument("--compile-jobs", type=int, default=0,
                        help="first compile the Triton kernels in this many processes side by side (one per fla "
                             "family and per other Triton section), then time in this one; 0: compile as it goes")
    args = parser.parse_args()
    if args.compile_jobs < 0:
        parser.error("--compile-jobs must be 0 or more")
    sections = set(args.sections.split(","))
    unknown = sections - {"ceiling", "softmax", "fla", "ssd", "decode"}
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}")
    lengths = [int(x) for x in args.lengths.split(",")]
    families = args.families.split(",")
    if set(families) - set(FLA_FAMILIES):
        parser.error(f"unknown families {sorted(set(families) - set(FLA_FAMILIES))}")
    if not torch.cuda.is_available():
        print("no CUDA device: nothing to measure", file=sys.stderr)
        return 1
    if args.compile_jobs > 0:
        compile_in_parallel(sections, families, args.lengths, args.compile_jobs)
    torch.manual_seed(0)
    rows = AnchorRows(args.rep_ms, args.out)
    steps = [("ceiling", lambda: ceilings(rows)), ("softmax", lambda: softmax(rows, lengths)),
             ("fla", lambda: fla_chunked(rows, lengths, families)), ("ssd", lambda: mamba_ssd(rows, lengths)),
             ("decode", lambda: fla_decode(rows)), ("decode", lambda: mamba_decode(rows))]
    for name, step in steps:
        if name in sections:
            try:
                step()
            except Exception:  # noqa: BLE001 -- keep what was measured; the log says what broke
                traceback.print_exc()
            torch.cuda.empty_cache()
    rows.save()
    print(f"{len(rows.rows)} anchor rows written to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
