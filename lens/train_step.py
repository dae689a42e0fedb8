"""The trainer's step: the forward of :func:`lens.forward.forward` and its backward by hand.

The architecture is fixed (one layer, three positions, no LayerNorm), so its gradients are
written out here instead of recorded by autograd. What that buys, measured in
``bench/train.py``: no graph to build, no [N, d_mlp] buffers kept for it, and the inputs
processed in row chunks (about a thousand rows: see CHUNK_ROWS), on one Python thread
per core (``lanes``), each a run of single-threaded torch ops. Torch releases the GIL inside
every op, so the lanes run in parallel without waking an OpenMP team for every small op.

The model at the ``=`` position, for inputs ``[a, b, =]`` (see :func:`lens.forward.forward`)::

    eq = W_E[p] + W_pos[2];  X = [W_E[:p] + W_pos[0]; W_E[:p] + W_pos[1]; eq]     [2p+1, d]
    q = eq @ W_Q;  qk = W_K @ q / sqrt(d_head);  table = X @ [qk | W_V]           [2p+1, h + h*e]
    scores, values of position 0 = table[a], of 1 = table[p + b], of 2 = table[2p]
    z = sum_k softmax(scores)_k values_k;  mid = eq + z @ W_O
    fin = mid + relu(mid @ W_in + b_in) @ W_out + b_out;  logits = fin @ W_U

The loss is the float64 cross-entropy of the recipe (log-sum-exp and its gradient in
float64; the matmuls in float32). Gradients are summed per lane in a fixed order and the
lanes' sums added in lane order, so a step is deterministic for a given lane count.

Footguns: a :class:`Step` holds the indices of one split and buffers sized for it; the
parameters are views into one flat tensor (:class:`Flat`), so the optimiser updates all of
them in one pass, and ``Flat.grad`` is overwritten by every backward.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import torch

from .config import WEIGHT_NAMES, ModelConfig

Params = dict[str, torch.Tensor]

# At most this many rows per chunk, a lane's rows split evenly: fewer ops per row against a
# working set that stays in cache. Measured at p = 113 on this project's 2-core machine (two
# lanes of 1 915 rows, median step, load average 1.7): chunks of 958 rows 22.4 ms, one chunk
# per lane 23.2 ms, at most 640 rows 24.3 ms, at most 512 rows 25.1 ms.
CHUNK_ROWS = 1024


def _add_relu_(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``relu(x + bias)`` in place: one pass over x on a CPU, where torch has the fused kernel."""
    if x.device.type == "cpu":
        return torch.ops.aten._add_relu_(x, bias)
    return x.add_(bias).relu_()


class Flat:
    """Every weight as a view into one flat tensor ``data``, and its gradient into ``grad``."""

    def __init__(self, params: Params, device: torch.device | str = "cpu"):
        sizes = [params[k].numel() for k in WEIGHT_NAMES]
        self.data = torch.cat(
            [params[k].detach().reshape(-1).to(device, torch.float32) for k in WEIGHT_NAMES]
        )
        self.grad = torch.zeros_like(self.data)
        self.params = self.views(self.data, {k: params[k].shape for k in WEIGHT_NAMES}, sizes)
        self.grads = self.views(self.grad, {k: params[k].shape for k in WEIGHT_NAMES}, sizes)

    @staticmethod
    def views(flat: torch.Tensor, shapes: dict, sizes: list[int]) -> Params:
        return {k: v.view(shapes[k]) for k, v in zip(WEIGHT_NAMES, flat.split(sizes), strict=True)}

    def split(self, flat: torch.Tensor) -> Params:
        """``flat`` (one value per weight entry, e.g. an Adam moment) as per-weight views."""
        return self.views(
            flat, {k: v.shape for k, v in self.params.items()}, [v.numel() for v in self.params.values()]
        )

    def join(self, tensors: Params) -> torch.Tensor:
        return torch.cat([tensors[k].reshape(-1).to(self.data) for k in WEIGHT_NAMES])


@dataclass(frozen=True)
class _Chunk:
    rows: int
    idx: torch.Tensor  # [2 rows]: table rows of positions 0 (a) and 1 (p + b)
    flat_y: torch.Tensor  # [rows]: index of each row's label in the flattened [rows, p] logits
    y: torch.Tensor
    minus_inv_n: torch.Tensor  # [rows] of -1 / N (float64): the one-hot's share of the gradient


class _Lane:
    """One thread's share of the rows and its gradient sums (one flat buffer)."""

    def __init__(self, cfg: ModelConfig, chunks: list[_Chunk], device: torch.device):
        p, d, h, e, m = cfg.p, cfg.d_model, cfg.n_heads, cfg.d_head, cfg.d_mlp
        self.chunks = chunks
        shapes = {
            "W_U": (d, p),
            "b_out": (d,),
            "W_out": (m, d),
            "b_in": (m,),
            "W_in": (d, m),
            "W_O": (h * e, d),
            "eq": (d,),
            "table": (2 * p + 1, h + h * e),
        }
        sizes = [math.prod(s) for s in shapes.values()]
        self.flat = torch.zeros(sum(sizes), device=device)
        self.g = {k: v.view(s) for (k, s), v in zip(shapes.items(), self.flat.split(sizes), strict=True)}
        self.loss = torch.zeros((), dtype=torch.float64, device=device)
        self.correct = torch.zeros((), dtype=torch.int64, device=device)


class Step:
    """Loss (and, with ``backward``, gradients into ``flat.grad``) of the rows ``a, b -> y``."""

    def __init__(
        self,
        cfg: ModelConfig,
        a: torch.Tensor,
        b: torch.Tensor,
        y: torch.Tensor,
        lanes: int = 1,
        chunk_rows: int | None = CHUNK_ROWS,
        pool: ThreadPoolExecutor | None = None,
    ):
        self.cfg, self.n, dev = cfg, len(a), a.device
        if dev.type != "cpu":  # one lane, one chunk: the GPU parallelises each op itself
            lanes, chunk_rows = 1, None
        self.lanes = []
        for i in range(lanes):
            lo, hi = self.n * i // lanes, self.n * (i + 1) // lanes
            k = -(-(hi - lo) // chunk_rows) if chunk_rows else 1  # chunks in this lane
            chunks = []
            for j in range(k if hi > lo else 0):
                s, t = lo + (hi - lo) * j // k, lo + (hi - lo) * (j + 1) // k
                sa, sb, sy = a[s:t], b[s:t], y[s:t]
                rows = len(sa)
                flat_y = torch.arange(rows, device=dev) * cfg.p + sy
                minus = torch.full((rows,), -1.0 / self.n, dtype=torch.float64, device=dev)
                chunks.append(_Chunk(rows, torch.cat([sa, sb + cfg.p]), flat_y, sy, minus))
            self.lanes.append(_Lane(cfg, chunks, dev))
        # The pool's threads start at the first step and, as POSIX threads do, inherit the
        # floating-point environment of the thread starting them: the subnormal flushing that
        # lens.train.configure set (torch.set_flush_denormal acts on the calling thread only).
        self._own_pool = pool is None and len(self.lanes) > 1
        self.pool = ThreadPoolExecutor(len(self.lanes) - 1) if self._own_pool else pool

    def close(self) -> None:
        if self._own_pool:
            self.pool.shutdown()

    # ------------------------------------------------------------ the whole step

    def __call__(self, flat: Flat, backward: bool = True, accuracy: bool = False) -> tuple[float, float]:
        """Mean float64 loss and (with ``accuracy``, else nan) accuracy over the rows."""
        if self.n == 0:  # an empty split (--frac 1 has no test rows): nothing to average
            if backward:
                flat.grad.zero_()
            return float("nan"), float("nan")
        P, cfg = flat.params, self.cfg
        p, h, e = cfg.p, cfg.n_heads, cfg.d_head
        with torch.no_grad():
            eq = P["W_E"][p] + P["W_pos"][2]
            X = torch.cat([P["W_E"][:p] + P["W_pos"][0], P["W_E"][:p] + P["W_pos"][1], eq[None]])
            q = torch.einsum("d,hde->he", eq, P["W_Q"])
            qk = torch.einsum("hde,he->dh", P["W_K"], q) / math.sqrt(e)
            W = torch.cat([qk, P["W_V"].permute(1, 0, 2).reshape(-1, h * e)], dim=1)  # [d, h + h*e]
            table = X @ W
            shared = (P, table, eq, backward, accuracy)
            futures = (
                [self.pool.submit(self._lane, lane, *shared) for lane in self.lanes[1:]] if self.pool else []
            )
            self._lane(self.lanes[0], *shared)
            for f in futures:
                f.result()
            first = self.lanes[0]
            loss, correct = first.loss.clone(), first.correct.clone()
            for lane in self.lanes[1:]:
                loss += lane.loss
                correct += lane.correct
                if backward:
                    first.flat += lane.flat
            if backward:
                self._tables_backward(flat, first.g, X, W, q, eq)
        acc = float(correct) / self.n if accuracy else float("nan")
        return float(loss) / self.n, acc

    def _tables_backward(self, flat: Flat, g: dict, X, W, q, eq) -> None:
        """From the lanes' sums to every weight's gradient (all [p, ...]-sized work)."""
        P, G, cfg = flat.params, flat.grads, self.cfg
        p, h, e = cfg.p, cfg.n_heads, cfg.d_head
        for k in ("W_U", "b_out", "W_out", "b_in", "W_in"):
            G[k].copy_(g[k])
        G["W_O"].copy_(g["W_O"].view(h, e, -1))
        d_table = g["table"]
        dX = d_table @ W.T  # [2p+1, d]
        dW = X.T @ d_table  # [d, h + h*e]
        G["W_V"].copy_(dW[:, h:].view(-1, h, e).permute(1, 0, 2))
        dqk = dW[:, :h] / math.sqrt(e)  # [d, h]
        torch.mul(dqk.T[:, :, None], q[:, None, :], out=G["W_K"])
        dq = torch.einsum("hde,dh->he", P["W_K"], dqk)
        torch.mul(eq[None, :, None], dq[:, None, :], out=G["W_Q"])
        deq = dX[2 * p] + g["eq"] + torch.einsum("hde,he->d", P["W_Q"], dq)
        torch.add(dX[:p], dX[p : 2 * p], out=G["W_E"][:p])
        G["W_E"][p].copy_(deq)
        torch.sum(dX[:p], 0, out=G["W_pos"][0])
        torch.sum(dX[p : 2 * p], 0, out=G["W_pos"][1])
        G["W_pos"][2].copy_(deq)

    # ------------------------------------------------------------ one lane

    @torch.no_grad()  # grad mode is per thread: the pool's threads do not inherit the caller's
    def _lane(self, lane: _Lane, P: Params, table, eq, backward: bool, accuracy: bool) -> None:
        cfg = self.cfg
        p, d, h, e = cfg.p, cfg.d_model, cfg.n_heads, cfg.d_head
        lane.loss.zero_()
        lane.correct.zero_()
        if backward:
            lane.flat.zero_()
        g = lane.g
        W_O = P["W_O"].reshape(h * e, d)
        s2, v2 = table[2 * p, :h], table[2 * p, h:].view(h, e)
        for c in lane.chunks:
            n = c.rows
            # ---- attention at "=": three keys, two of them gathered from the table
            rows = table.index_select(0, c.idx)  # [2n, h + h*e]
            pat = torch.empty(3, n, h, device=rows.device)  # [key position, n, head]: planes
            pat[0], pat[1], pat[2] = rows[:n, :h], rows[n:, :h], s2
            pat -= pat.amax(0)  # softmax over the three keys, plane by plane
            pat.exp_()
            pat /= pat.sum(0)
            v0, v1 = rows[:n, h:].view(n, h, e), rows[n:, h:].view(n, h, e)
            p0, p1, p2 = pat[0, :, :, None], pat[1, :, :, None], pat[2, :, :, None]
            z = v0 * p0
            z.addcmul_(v1, p1).addcmul_(p2, v2)
            zf = z.view(n, h * e)
            mid = torch.addmm(eq, zf, W_O)
            # ---- MLP and unembedding
            post = _add_relu_(mid @ P["W_in"], P["b_in"])
            fin = torch.add(mid, P["b_out"]).addmm_(post, P["W_out"])
            logits = fin @ P["W_U"]
            # ---- float64 cross-entropy: log-sum-exp, and softmax - onehot for the gradient
            l64 = logits.double()
            l64 -= l64.amax(1, keepdim=True)
            ex = l64.exp()
            total = ex.sum(1)
            lane.loss += total.log().sum() - l64.view(-1).index_select(0, c.flat_y).sum()
            if accuracy:
                lane.correct += (logits.argmax(1) == c.y).sum()
            if not backward:
                continue
            ex *= (total * self.n).reciprocal_()[:, None]
            ex.view(-1).index_add_(0, c.flat_y, c.minus_inv_n)
            dlogits = ex.float()
            # ---- backward through the unembedding and the MLP
            g["W_U"].addmm_(fin.T, dlogits)
            d_fin = dlogits @ P["W_U"].T  # [n, d]
            g["b_out"] += d_fin.sum(0)
            g["W_out"].addmm_(post.T, d_fin)
            d_pre = d_fin @ P["W_out"].T  # [n, d_mlp]
            torch.ops.aten.threshold_backward.grad_input(d_pre, post, 0, grad_input=d_pre)  # ReLU
            g["b_in"] += d_pre.sum(0)
            g["W_in"].addmm_(mid.T, d_pre)
            d_mid = d_fin.addmm_(d_pre, P["W_in"].T)  # d_fin is used up: the residual's gradient
            # ---- backward through W_O and the attention
            g["W_O"].addmm_(zf.T, d_mid)
            g["eq"] += d_mid.sum(0)
            dz = (d_mid @ W_O.T).view(n, h, e)
            d_pat = torch.empty(3, n, h, device=dz.device)
            torch.sum(dz * v0, -1, out=d_pat[0])
            torch.sum(dz * v1, -1, out=d_pat[1])
            torch.sum(dz * v2, -1, out=d_pat[2])
            d_pat -= (pat * d_pat).sum(0)
            d_pat *= pat  # now the scores' gradient
            d_rows = torch.empty(2 * n, h + h * e, device=dz.device)
            d_rows[:n, :h], d_rows[n:, :h] = d_pat[0], d_pat[1]
            torch.mul(dz, p0, out=d_rows[:n, h:].view(n, h, e))
            torch.mul(dz, p1, out=d_rows[n:, h:].view(n, h, e))
            g["table"].index_add_(0, c.idx, d_rows)
            g["table"][2 * p, :h] += d_pat[2].sum(0)
            g["table"][2 * p, h:] += (dz * p2).sum(0).view(-1)
