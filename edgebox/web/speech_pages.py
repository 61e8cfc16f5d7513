"""How the box speaks into alarm calls, on the health page, and the office's own recorded
prompt: uploaded (WAV/MP3/AMR, converted to telephone audio on the box), listened to, removed.
The daemon reads the prompt from the same file before each alarm call (daemon/call_speech)."""
from __future__ import annotations

from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from edgebox.adapters.speech.prompt import (MAX_UPLOAD_BYTES, PromptError, prompt_path,
                                            remove_prompt, save_prompt)
from edgebox.adapters.speech.settings import speech_directory
from edgebox.web.health_pages import health_view
from edgebox.web.pages import page, route

# The form around the file: its boundary, the CSRF token.
FORM_OVERHEAD = 64 * 1024


@page(limit=MAX_UPLOAD_BYTES + FORM_OVERHEAD)
def upload_prompt(request):
    ctx = request.app.state.ctx
    upload = request.state.form.get("prompt")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return health_view(request, 400, prompt_error="prompt_err_none")
    try:
        save_prompt(speech_directory(ctx.box.config), upload.file.read(), upload.filename)
    except PromptError as exc:
        return health_view(request, 400, prompt_error=f"prompt_err_{exc.reason}")
    ctx.store.append_event(ctx.clock(), "speech_prompt_saved", file=upload.filename[:80])
    return RedirectResponse("/health?prompt=saved", status_code=303)


@page
def delete_prompt(request):
    ctx = request.app.state.ctx
    if remove_prompt(speech_directory(ctx.box.config)):
        ctx.store.append_event(ctx.clock(), "speech_prompt_removed")
    return RedirectResponse("/health?prompt=removed", status_code=303)


@page
def prompt_audio(request):
    """The prompt as the calls play it, for the office to listen to."""
    path = prompt_path(speech_directory(request.app.state.ctx.box.config))
    try:
        return Response(path.read_bytes(), media_type="audio/wav")
    except FileNotFoundError:
        return Response(status_code=404)


ROUTES = [route("/speech/prompt", upload_prompt, ["POST"]),
          route("/speech/prompt/remove", delete_prompt, ["POST"]),
          route("/speech/prompt.wav", prompt_audio)]
