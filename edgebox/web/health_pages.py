"""Health: each modem's signal and registration over the last days, balance, uplink, disk."""
from __future__ import annotations

from edgebox.adapters.speech import EspeakSynthesiser, synthesiser_from_settings
from edgebox.adapters.speech.prompt import MAX_SECONDS, MAX_UPLOAD_BYTES, load_prompt
from edgebox.adapters.speech.settings import speech_directory
from edgebox.readmodels import queries
from edgebox.web.charts import signal_chart
from edgebox.web.i18n import translator
from edgebox.web.pages import page, render, route

DAYS = 7
MB = 1024 * 1024


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1024:
            return f"{count:.0f} {unit}"
        count /= 1024
    return f"{count:.1f} TB"


@page
def health_page(request):
    return health_view(request)


def health_view(request, status: int = 200, prompt_error: str | None = None):
    """The page, also as the answer to a prompt upload that was refused (``prompt_error``:
    the words' key; the ``mb``/``seconds`` limits fill them)."""
    ctx = request.app.state.ctx
    t = translator(request.state.session.lang)
    now = ctx.clock()
    start = queries.days_ago(now, DAYS)
    chart = signal_chart(queries.health_since(ctx.store, start), start, now,
                         {"title": t("signal", days=DAYS), "empty": t("no_readings")})
    uplink = None
    if ctx.uplink_configured:
        from edgebox.uplink.ledger import UplinkLedger
        uplink = UplinkLedger(ctx.store).status()
    disk = queries.disk(ctx.store.path)
    return render(request, "health.html", status, chart=chart, days=DAYS,
                  modems=ctx.box.modems(), uplink=uplink, disk=disk, size=_size,
                  when=queries.when, speech=speech_summary(ctx), prompt_error=prompt_error,
                  prompt_done=request.query_params.get("prompt"))


def speech_summary(ctx) -> dict:
    """What the health page shows about speech: the synthesiser, the prompt, the limits."""
    config = ctx.box.config
    synthesiser = synthesiser_from_settings(config.get("speech.engine"),
                                            config.get("speech.voice"),
                                            config.get("speech.words_per_minute"))
    prompt = load_prompt(speech_directory(config))
    return {"synthesiser": ("synthesiser_espeak" if isinstance(synthesiser, EspeakSynthesiser)
                            else "synthesiser_tones"),
            "prompt_seconds": round(prompt.seconds, 1) if prompt is not None else None,
            "max_seconds": int(MAX_SECONDS), "max_mb": MAX_UPLOAD_BYTES // MB}


ROUTES = [route("/health", health_page)]
