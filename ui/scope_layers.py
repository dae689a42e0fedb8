"""The tensor scope's Vega-Lite: its layers, markers, play axis and title (plain dicts).

Every piece here reads the scope's datasets by name (``ui/scope_tables.py``) and writes no
number that follows a server index: the value range, the title's indices and captions and the
opening play index are Vega expressions over the ``info`` rows, so a server slider that moves
sends new rows for the same spec. Nor anything that follows the view among the line views
(:func:`line_view_layers`: the layers of all three, the x range and the axis titles read from
the info rows), so a change of view sends new rows for the same spec too. ``ui/scope.py``
assembles the spec from these pieces.

The play axis: a parameter ``play_<axis>`` bound to a range input picks the slice, and a
boolean ``playing_<axis>`` bound to a checkbox lets a Vega timer sweep it (the timer's
handler is kept in ``usermeta``, see :class:`ui.scope.ScopeChart`).
"""

from __future__ import annotations

import json
import re
from typing import Any, Mapping

import numpy as np

from lens.fourier import n_freqs
from ui.scope_tables import INFO, VIEW_CODES
from ui.theme import CHART_TITLE_FONT, FONT, INK, LINE_WIDTH, PALETTE, TITLE_FONT, wrapped

SWEEP_SECONDS = 8.0  # one full pass of the play axis
MIN_TICK_MS = 40  # the timer never fires faster than this (25 frames per second)...
MAX_TICK_MS = 1000  # ...nor slower: a play axis of 3 heads steps once a second


def play_param_name(axis: str) -> str:
    """Name of the browser-side parameter that holds the play index, e.g. ``play_c``."""
    return "play_" + re.sub(r"\W", "_", axis)


def playing_param_name(axis: str) -> str:
    """Name of the browser-side boolean that runs the sweep, e.g. ``playing_c``."""
    return "playing_" + re.sub(r"\W", "_", axis)


# ----------------------------------------------------------------------------- layers


def axis(title: str | None, **kw: Any) -> dict:
    """An axis readable on a projector. A title of one to three characters ("a", "b") is
    written upright and larger: turned on its side, a single letter is easy to miss."""
    out: dict[str, Any] = {
        "title": title,
        "labelFontSize": FONT,
        "titleFontSize": TITLE_FONT,
        "labelColor": INK,
        "titleColor": INK,
    }
    if title is not None and len(title) <= 3:
        out.update(titleFontSize=FONT + 4, titleFontWeight="bold")
    out.update(kw)
    return out


def _upright(ax: dict) -> dict:
    """A y axis whose short title stands upright beside the labels."""
    if ax.get("title") is not None and len(ax["title"]) <= 3:
        ax.update(titleAngle=0, titleAlign="right", titleBaseline="middle")
    return ax


def _js(s: str) -> str:
    """A string literal for a Vega expression (JSON's escapes are valid there)."""
    return json.dumps(s)


def data_layers(
    data: dict,
    select: list[dict],
    view: str,
    names: list[str],
    x_axis: str,
    row_axis: str | None,
    x_title: str | None,
    y_title: str | None,
    row_title: str | None,
    signed: bool | None,
    height: int,
    n_x: int,
    n_row: int = 0,
) -> list[dict]:
    """The data layers: a heatmap's cells, or the layers of the three line views (one spec for
    all, :func:`line_view_layers`; ``view`` then only tells them apart from the heatmap).
    Their value range is read from the info dataset (a server-side slider changes it without
    changing the spec); ``signed`` picks a heat map's colours: a diverging scheme centred on
    0, or a sequential one."""
    domain = [{"expr": f"data('{INFO}')[0].lo"}, {"expr": f"data('{INFO}')[0].hi"}]
    color = {
        "field": "line",
        "type": "nominal",
        "scale": {"domain": names, "range": PALETTE[: max(1, len(names))]},
        "legend": {"title": None, "orient": "top", "symbolType": "stroke"} if len(names) > 1 else None,
    }
    y_scale = {"domain": domain, "nice": False, "zero": False, "padding": 6}

    if view == "heatmap":
        if signed:  # the info dataset holds a range symmetric about 0
            cscale: dict[str, Any] = {"domain": domain, "scheme": "blueorange", "domainMid": 0}
        else:
            cscale = {"domain": domain, "scheme": "viridis"}
        # Quantitative cell edges (x +- 0.5, computed in the browser) rather than ordinal
        # bands: markers at half-integer positions such as c/2 then land where they belong.
        rect = {
            "data": data,
            "mark": {"type": "rect"},
            "encoding": {
                "x": {
                    "field": "x0",
                    "type": "quantitative",
                    "axis": axis(x_title or x_axis, tickMinStep=1),
                    "scale": {"domain": [-0.5, n_x - 0.5], "nice": False, "zero": False},
                },
                "x2": {"field": "x1"},
                "y": {
                    "field": "r0",
                    "type": "quantitative",
                    "axis": _upright(axis(row_title or row_axis or "row", tickMinStep=1)),
                    "scale": {"domain": [-0.5, n_row - 0.5], "nice": False, "zero": False, "reverse": True},
                },
                "y2": {"field": "r1"},
                "color": {
                    "field": "y",
                    "type": "quantitative",
                    "scale": cscale,
                    "legend": {"title": y_title or "value", "gradientLength": max(120, height - 60)},
                },
                "tooltip": [
                    {"field": "row", "type": "ordinal", "title": row_axis or "row"},
                    {"field": "x", "type": "ordinal", "title": x_axis},
                    {"field": "y", "type": "quantitative", "title": "value", "format": ".4g"},
                ],
            },
            "transform": [
                # Cell edges once, before the slice's values are looked up on each step.
                {"calculate": "datum.x - 0.5", "as": "x0"},
                {"calculate": "datum.x + 0.5", "as": "x1"},
                {"calculate": "datum.row - 0.5", "as": "r0"},
                {"calculate": "datum.row + 0.5", "as": "r1"},
                *select,
            ],
        }
        return [rect]

    return line_view_layers(data, select, names, color, y_scale, x_axis)


def _dynamic_axis(field: str, upright: bool) -> dict:
    """An axis whose title is read from the info dataset's column ``field`` (so that the
    three line views share one spec), styled as :func:`axis` styles a fixed title: a title of
    one to three characters larger, and on a y axis (``upright``) standing upright.

    The title is a Vega signal: Vega-Lite compiles an axis title that is a signal reference
    as it is (its axis component's title is ``Text | SignalRef``), though its JSON schema
    lists text only; :func:`ui.scope.validate_spec` checks the rest of the spec."""
    title = f"data('{INFO}')[0].{field}"
    short = f"length({title}) <= 3"
    out = axis(None, tickMinStep=1)
    out["title"] = {"signal": title}
    out["titleFontSize"] = {"expr": f"{short} ? {FONT + 4} : {TITLE_FONT}"}
    out["titleFontWeight"] = "bold"
    if upright:  # Vega's defaults for a left axis' title, unless it is short
        out["titleAngle"] = {"expr": f"{short} ? 0 : 270"}
        out["titleAlign"] = {"expr": f"{short} ? 'right' : 'center'"}
        out["titleBaseline"] = {"expr": f"{short} ? 'middle' : 'bottom'"}
    return out


def line_view_frame(view: str, x_axis: str, x_title: str | None, y_title: str | None, n_x: int) -> dict:
    """What the line views' layers read from the info dataset for ``view`` (p = ``n_x``
    tokens along x): the x range, the axis titles, and whether the y = 0 rule is drawn."""
    if view == "space":
        return {
            "x0": 0.0,
            "x1": float(n_x - 1),
            "xtitle": x_title or x_axis,
            "ytitle": y_title or "value",
            "zero": 0,
        }
    k = n_freqs(n_x)
    if view == "fourier":
        xtitle = x_title or "frequency   (sin left, cos right)"
        ytitle = y_title + " (amplitude)" if y_title else "amplitude"
    else:
        xtitle, ytitle = x_title or "frequency", "|" + (y_title or "amplitude") + "|"
    return {"x0": -0.5, "x1": k + 0.5, "xtitle": xtitle, "ytitle": ytitle, "zero": 1}


def line_view_layers(
    data: dict, select: list[dict], names: list[str], color: dict, y_scale: dict, x_axis: str
) -> list[dict]:
    """The layers of the three line views, one spec for all: the space view's lines, the
    Fourier view's and the magnitude view's stems, and the y = 0 rule under the stems. Each
    data layer keeps the points of its view (a filter on the points' ``view`` code, before
    the slice is looked up: a scrub step costs the other layers nothing); the x range and the
    axis titles are read from the info dataset. So a change of view sends new rows for the
    same spec, and the browser keeps its chart and the reader's play position."""
    domain = [{"expr": f"data('{INFO}')[0].x0"}, {"expr": f"data('{INFO}')[0].x1"}]
    x_scale = {"domain": domain, "nice": False, "zero": False}

    def keep(code: int) -> list[dict]:
        return [{"filter": f"datum.view == {code}"}, *select]

    x = {"field": "x", "type": "quantitative", "axis": _dynamic_axis("xtitle", False), "scale": x_scale}
    y = {"field": "y", "type": "quantitative", "axis": _dynamic_axis("ytitle", True), "scale": y_scale}
    line = {
        "data": data,
        "mark": {"type": "line", "strokeWidth": LINE_WIDTH, "interpolate": "linear"},
        "encoding": {
            "x": x,
            "y": y,
            "color": color,
            "tooltip": [
                {"field": "line", "type": "nominal"},
                {"field": "x", "type": "quantitative", "title": x_axis},
                {"field": "y", "type": "quantitative", "format": ".4g"},
            ],
        },
        "transform": keep(VIEW_CODES["space"]),
    }
    tips = {
        "fourier": [
            {"field": "component", "type": "nominal"},
            {"field": "y", "type": "quantitative", "title": "amplitude", "format": ".4g"},
        ],
        "magnitude": [
            {"field": "x", "type": "quantitative", "title": "frequency", "format": ".0f"},
            {"field": "y", "type": "quantitative", "title": "|amplitude|", "format": ".4g"},
        ],
    }
    stems = [
        {
            "data": data,
            "mark": {"type": "rule", "strokeWidth": LINE_WIDTH},
            "encoding": {
                "x": x,
                "y": y,
                "y2": {"datum": 0},
                "color": color,
                "tooltip": [{"field": "line", "type": "nominal"}, *tips[view]],
            },
            "transform": keep(VIEW_CODES[view]),
        }
        for view in ("fourier", "magnitude")
    ]
    # The y = 0 baseline of the stems: one info row says whether the view has stems.
    zero = {
        "data": {"name": INFO},
        "mark": {"type": "rule", "color": "#888", "strokeWidth": 1},
        "encoding": {"y": {"datum": 0, "type": "quantitative"}},
        "transform": [{"filter": "datum.zero"}],
    }
    return [line, *stems, zero]


def marker_layers(data: dict) -> tuple[list[dict], list[dict]]:
    """Dashed rules (drawn under the data) and their labels (over it)."""
    rule = {
        "data": data,
        "mark": {"type": "rule", "color": "#333333", "strokeWidth": 2, "strokeDash": [6, 4], "opacity": 0.7},
        "encoding": {"x": {"field": "x", "type": "quantitative"}},
    }
    labels = []
    for align, dx, test in (("left", 5, "!datum.right"), ("right", -5, "datum.right")):
        labels.append(
            {
                "data": data,
                "mark": {
                    "type": "text",
                    "align": align,
                    "baseline": "top",
                    "dx": dx,
                    "fontSize": FONT,
                    "fontWeight": "bold",
                    "color": "#222222",
                },
                "encoding": {
                    "x": {"field": "x", "type": "quantitative"},
                    "y": {"field": "ypix", "type": "quantitative", "scale": None},
                    "text": {"field": "label", "type": "nominal"},
                },
                "transform": [{"filter": test}],
            }
        )
    return [rule], labels


def add_play(
    spec: dict,
    play: str,
    pname: str,
    idx: np.ndarray,
    step: int,
    autoplay: bool,
    sweep_seconds: float,
    slider_name: str | None = None,
) -> None:
    """The play parameters (the slider labelled ``slider_name``, default the axis' name). The opening index is read from the info dataset (``start_<axis>``),
    not written in the spec: when the server changes it, the play index follows; when the
    server changes anything else, a reader's scrub position stays where it was."""
    lo, hi = int(idx[0]), int(idx[-1])
    running = playing_param_name(play)
    opening = "start_" + pname.removeprefix("play_")
    first = {"name": opening, "expr": f"data('{INFO}')[0].start"}
    scrub = {
        "name": pname,
        "expr": opening,  # with a binding, Vega-Lite makes this the initial value only
        "bind": {"input": "range", "min": lo, "max": hi, "step": step, "name": f"{slider_name or play} "},
    }
    toggle = {
        "name": running,
        "value": bool(autoplay),
        "bind": {"input": "checkbox", "name": f"▶ play {play} "},
    }
    tick_ms = int(np.clip(round(1000 * sweep_seconds / max(1, len(idx))), MIN_TICK_MS, MAX_TICK_MS))
    handlers = [
        # Vega's timer event stream; the update wraps to the first slice after the last.
        {
            "events": {"type": "timer", "throttle": tick_ms},
            "update": f"{running} ? ({pname} + {step} > {hi} ? {lo} : {pname} + {step}) : {pname}",
        },
        # A new opening index from the server moves the play index there.
        {"events": {"signal": opening}, "update": opening},
    ]
    spec["params"] = [first, scrub, toggle]
    spec["usermeta"]["scope"] = {
        "play": play,
        "param": pname,
        "toggle": running,
        "tick_ms": tick_ms,
        "timers": {pname: handlers},
    }


def title_spec(
    title: bool,
    fixed: Mapping[str, int] | None,
    play: str | None,
    pname: str | None,
    row: str,
    captions: bool,
    note: str | None,
    labels: bool = False,
) -> dict:
    """Title lines: the title, the indices (the play index appended live, or with ``labels``
    the slice's own label, e.g. "cut = +0.53"), the caption, all from the info dataset's row
    ``row``; then a note, the only text written in the spec."""
    info = f"data('{INFO}')[{row}]"
    wide: list[str] = [f"{info}.title"] if title else []
    narrow: list[str] = [f"{info}.title_w"] if title else []
    if play and labels:
        head = f"{info}.head + {info}.at"
    elif play:
        head = f"{info}.head + {pname}"
    else:
        head = f"{info}.head" if fixed else None
    if head:
        wide.append(head)
        narrow.append(head)
    if captions:
        wide.append(f"{info}.caption")
        narrow.append(f"{info}.caption_w")
    if note:
        wide.append(_js(note))
        narrow.append(_js(wrapped(note)))
    text = "[" + ", ".join(wide) + "]"
    if title or captions or note:
        # On a plot narrower than the row's longest line, phone-width lines instead of an
        # ellipsis: the wrapped texts joined and split at their newlines (one array).
        joined = " + '\\n' + ".join(narrow)
        text = f"width < {info}.wrap_px ? split({joined}, '\\n') : {text}"
    return {
        "text": {"expr": text} if wide else "",
        "anchor": "start",
        "fontSize": CHART_TITLE_FONT,
        "fontWeight": "normal",
        "lineHeight": 22,
        "offset": 10,
    }
