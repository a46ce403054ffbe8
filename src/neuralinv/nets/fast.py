"""The inference path of a Network with the framework overhead taken out: what net(a) runs.

FastNetwork evaluates the same function as Network.forward_reference in fewer passes over memory (see the class);
it is built on a network's first call and kept on the network until its weights change.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable

import torch

from neuralinv.common.errors import InputError


class FastNetwork:
    """The inference path of a Network with the framework overhead taken out: the same function, fewer passes.

    forward_reference computes x = (vec(A) - offset) / s in float64, casts to the weights' dtype, runs the MLP and
    decodes in float64: about a dozen framework ops, each a pass over memory, and an allocation per activation. Two
    plans instead:

    - large batches (float32): the subtraction runs in float64 (no cancellation, whatever the input's dtype) and
      writes float32 in the same pass, 1/s is folded into the first layer's weights, layers run as addmm into
      buffers preallocated per batch size (no page faults on large activations), ReLU in place, a narrow last layer
      is computed transposed (W h^T: the CPU GEMM runs it several times faster than h W^T for a few output
      columns), and one op decodes into the float64 output; for 2x2 and 3x3 the offset is tiled to the batch, so
      the subtraction is one long loop rather than rows loops of n^2 elements;
    - small batches of a small network (float64): the encoding is folded into the first layer and the decoding
      into the last, (W / s, b - W offset / s) and (s_t W, s_t b + offset_t), so a 2-FC call is three ops
      (addmm, relu_, addmm). float64 keeps the folding free of cancellation; at a few rows every op costs its
      framework floor whatever the dtype.

    Both evaluate the same weights; outputs match forward_reference to float32 rounding. Call with a (..., n, n)
    tensor on the network's device (other dtypes than float32/float64 are converted to float64); returns a new
    float64 (..., n, n) tensor. Buffers are kept for the MAX_BATCH_SIZES most recently used batch sizes, each at
    most BUFFER_BYTES: a larger batch runs in equal chunks that fit. Not thread-safe (buffers are shared);
    Network.forward guards it with a lock.
    """

    TRANSPOSE_BELOW = 16  # last layers with fewer outputs than this are computed as W h^T
    TILE_BELOW = 16  # inputs with fewer entries than this subtract a tiled offset (see buffers)
    SMALL_ROWS = 64  # batches of at most this many matrices use the float64 plan ...
    SMALL_PARAMS = 65_536  # ... when the network has at most this many weights (float64 doubles weight traffic)
    MAX_BATCH_SIZES = 4  # buffers (and plans) are kept for this many batch sizes, least recently used dropped first
    BUFFER_BYTES = 256 * 2**20  # the most one batch size's buffers may take; larger batches run in chunks
    DTYPES = (torch.float32, torch.float64)  # input dtypes taken as they are; others are converted to float64

    def __init__(self, net: torch.nn.Module, *, device=None):
        """net: the Network (neuralinv.nets.mlp) whose layers, scaling and size this evaluates."""
        # Built outside inference mode (whatever the caller's mode): buffers made inside it would be inference
        # tensors, which a later call outside it could not write into.
        with torch.inference_mode(False), torch.no_grad():
            self._build(net, device)

    def _build(self, net: torch.nn.Module, device) -> None:
        device = torch.device(device) if device is not None else net.layers[0][0].device
        s = net.scaling
        self.n, self.d = net.n, net.n**2
        self.device = device
        self.layer_sizes = net.layer_sizes
        # The tensors this was built from, their version counters (inference tensors have none) and whether they
        # required grad: built_from. trainable: a network that autograd should see through (Network.forward).
        self._source = [
            (
                w,
                b,
                None if w.is_inference() else w._version,
                None if b.is_inference() else b._version,
                w.requires_grad or b.requires_grad,
            )
            for w, b in net.layers
        ]
        self.trainable = any(grad for *_, grad in self._source)
        w_dtype = net.layers[0][0].dtype
        self.dtype = w_dtype
        layers = [(w.detach().to(device), b.detach().to(device)) for w, b in net.layers]
        w0 = (layers[0][0].double() / s.input_scale).to(w_dtype)
        self.first = (w0.t().contiguous(), layers[0][1].contiguous())
        self.middle = [(w.t().contiguous(), b.contiguous()) for w, b in layers[1:-1]]
        w_last, b_last = layers[-1]
        self.transposed = w_last.shape[0] < self.TRANSPOSE_BELOW
        if self.transposed:
            self.last = (w_last.contiguous(), b_last[:, None].contiguous())
        else:
            self.last = (w_last.t().contiguous(), b_last.contiguous())
        self.in_offset = torch.tensor(s.input_offset, dtype=torch.float64, device=device)
        self.out_offset = torch.tensor(s.target_offset, dtype=torch.float64, device=device)
        self.out_offset_col = self.out_offset[:, None].contiguous()
        self.out_scale = s.target_scale
        self.folded = None
        if sum(w.numel() + b.numel() for w, b in layers) <= self.SMALL_PARAMS:
            f64 = [(w.double(), b.double()) for w, b in layers]
            w0, b0 = f64[0][0] / s.input_scale, f64[0][1]
            b0 = b0 - w0 @ self.in_offset
            wl, bl = f64[-1][0] * s.target_scale, f64[-1][1] * s.target_scale + self.out_offset
            self.folded = (
                [(w0.t().contiguous(), b0)]
                + [(w.t().contiguous(), b) for w, b in f64[1:-1]]
                + [(wl.t().contiguous(), bl)]
            )
        itemsize = torch.empty((), dtype=w_dtype).element_size()
        row_bytes = itemsize * sum(self.layer_sizes) + (8 * self.d if self.d < self.TILE_BELOW else 0)
        self.max_rows = max(self.SMALL_ROWS + 1, self.BUFFER_BYTES // row_bytes)
        self._buffers: OrderedDict[int, dict] = OrderedDict()
        self._plans: OrderedDict[tuple, list] = OrderedDict()

    def built_from(self, layers) -> bool:
        """Whether layers are the tensors this was built from, unmodified since (values and requires_grad)."""
        if len(layers) != len(self._source):
            return False
        for (w, b), (sw, sb, vw, vb, grad) in zip(layers, self._source):
            if (
                w is not sw
                or b is not sb
                or (vw is not None and w._version != vw)
                or (vb is not None and b._version != vb)
                or (w.requires_grad or b.requires_grad) != grad
            ):
                return False
        return True

    def buffers(self, rows: int) -> dict:
        """The float32 plan's buffers for a batch of rows matrices; the least recently used batch size's go first."""
        buf = self._buffers.get(rows)
        if buf is not None:
            self._buffers.move_to_end(rows)
            return buf
        with torch.inference_mode(False):
            kw = {"device": self.device}
            hidden = [torch.empty((rows, h), dtype=self.dtype, **kw) for h in self.layer_sizes[1:-1]]
            y_shape = (self.d, rows) if self.transposed else (rows, self.d)
            buf = {
                "x32": torch.empty((rows, self.d), dtype=self.dtype, **kw),
                "hidden": hidden,
                "y": torch.empty(y_shape, dtype=self.dtype, **kw),
            }
            if self.d < self.TILE_BELOW:
                # Broadcasting a row of d < 16 offsets runs an inner loop of d elements; a tiled copy of the offsets
                # makes the subtraction one long elementwise loop (about twice as fast for 2x2 and 3x3).
                buf["offset"] = self.in_offset.repeat(rows, 1)
        self._buffers[rows] = buf
        while len(self._buffers) > self.MAX_BATCH_SIZES:
            old, _ = self._buffers.popitem(last=False)
            for key in [k for k in self._plans if k[0] == old]:  # plans hold the buffers they write into
                del self._plans[key]
        return buf

    def plan_name(self, rows: int) -> str:
        """The plan a batch of rows matrices runs: "float64" (folded, small batches) or "float32"."""
        return "float64" if self.folded is not None and rows <= self.SMALL_ROWS else "float32"

    def stages(self, rows: int, dtype) -> list[tuple[str, Callable]]:
        """The path for a batch of rows matrices as named steps, each taking the previous step's output.

        The float32 plan's last step also takes out=, a float64 (rows, n^2) tensor to write the result into (default:
        a new one); batches that take the float64 plan are never split into chunks.
        """
        if self.plan_name(rows) == "float64":
            return self._stages_float64(dtype)
        buf = self.buffers(rows)
        offset = buf.get("offset", self.in_offset)
        out = [("encode", lambda x: torch.sub(x, offset, out=buf["x32"]))]
        w, b = self.first
        hidden = buf["hidden"]
        out.append(("layer 1", lambda x, w=w, b=b: torch.addmm(b, x, w, out=hidden[0])))
        out.append(("relu 1", torch.relu_))
        for i, (w, b) in enumerate(self.middle):
            out.append((f"layer {i + 2}", lambda x, w=w, b=b, h=hidden[i + 1]: torch.addmm(b, x, w, out=h)))
            out.append((f"relu {i + 2}", torch.relu_))
        w, b = self.last
        k = len(self.layer_sizes) - 1
        kw = {"dtype": torch.float64, "device": self.device}
        # The decode writes a fresh row-major output (the caller keeps it). After a transposed last layer it walks
        # y^T in its own order and writes the output through its transpose, which beats reading y^T transposed.
        if self.transposed:
            out.append((f"layer {k}", lambda x: torch.addmm(b, w, x.t(), out=buf["y"])))
            out.append(
                (
                    "decode",
                    lambda y, out=None: torch.add(
                        self.out_offset_col,
                        y,
                        alpha=self.out_scale,
                        out=(torch.empty((rows, self.d), **kw) if out is None else out).t(),
                    ).t(),
                )
            )
        else:
            out.append((f"layer {k}", lambda x: torch.addmm(b, x, w, out=buf["y"])))
            out.append(
                (
                    "decode",
                    lambda y, out=None: torch.add(
                        self.out_offset,
                        y,
                        alpha=self.out_scale,
                        out=torch.empty((rows, self.d), **kw) if out is None else out,
                    ),
                )
            )
        return out

    def _stages_float64(self, dtype) -> list[tuple[str, Callable]]:
        out = [] if dtype == torch.float64 else [("encode", lambda x: x.double())]
        last = len(self.folded) - 1
        for i, (w, b) in enumerate(self.folded):
            out.append((f"layer {i + 1}", lambda x, w=w, b=b: torch.addmm(b, x, w)))
            if i < last:
                out.append((f"relu {i + 1}", torch.relu_))
        return out

    def _plan(self, rows: int, dtype) -> tuple[list, Callable]:
        """The steps for a batch of rows matrices of dtype, as (all but the last, the last), built on first use."""
        key = (rows, dtype)
        plan = self._plans.get(key)
        if plan is None:
            steps = [step for _, step in self.stages(rows, dtype)]
            plan = self._plans[key] = (steps[:-1], steps[-1])
            while len(self._plans) > 2 * self.MAX_BATCH_SIZES:
                self._plans.popitem(last=False)
        else:
            self._plans.move_to_end(key)
            if rows in self._buffers:
                self._buffers.move_to_end(rows)
        return plan

    def __call__(self, a: torch.Tensor) -> torch.Tensor:
        # No autograd context here (entering one costs more than a whole 2x2 call): the weights are detached and
        # so is the input, and every op writes into an out= buffer or a new tensor; the input is never written.
        batch = a.shape[:-2]
        if a.shape[-2:] != (self.n, self.n):
            raise InputError(f"a: expected (..., {self.n}, {self.n}), got {tuple(a.shape)}")
        if a.dtype not in self.DTYPES:
            a = a.to(torch.float64)
        x = a.detach().reshape(-1, self.d)
        rows = x.shape[0]
        if rows > self.max_rows:
            return self._chunked(x).view(*batch, self.n, self.n)
        body, last = self._plan(rows, x.dtype)
        for step in body:
            x = step(x)
        return last(x).view(*batch, self.n, self.n)

    def _chunked(self, x: torch.Tensor) -> torch.Tensor:
        """A batch too large for one set of buffers, in equal chunks: one call keeps at most two sizes' buffers."""
        rows = x.shape[0]
        chunks = -(-rows // self.max_rows)
        size = -(-rows // chunks)
        y = torch.empty((rows, self.d), dtype=torch.float64, device=self.device)
        for i in range(0, rows, size):
            part = min(size, rows - i)
            body, last = self._plan(part, x.dtype)
            h = x[i : i + part]
            for step in body:
                h = step(h)
            if self.plan_name(part) == "float64":  # a short last chunk of a network small enough for that plan
                y[i : i + part] = last(h)
            else:
                last(h, out=y[i : i + part])
        return y
