"""Downloading a model from the UI (issue #21, model lifecycle), in Chromium against the
simulator: an admin starts the download from the model details and follows its progress until
the new model is in the picker; a user is not offered it."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import require_playwright, sign_in
from tests.support.servers import ThreadedServer

expect = require_playwright().expect


def test_an_admin_downloads_a_model_and_follows_its_progress(
    page: Any, gateway: ThreadedServer, sim: Any
) -> None:
    sim.state.download_size_bytes = 6_000_000
    sim.state.download_bytes_per_second = 2_000_000.0  # about three seconds
    sign_in(page, gateway)
    page.get_by_role("button", name="Model details").click()
    page.get_by_text("Download a model").click()
    page.get_by_label("Model key").fill("acme/fresh-model")
    page.get_by_label("Quantisation (optional)").fill("Q4_K_M")
    page.get_by_role("button", name="Download", exact=True).click()
    job = page.get_by_test_id("download-job")
    expect(job).to_contain_text("Downloading acme/fresh-model…")
    expect(page.get_by_role("progressbar", name="Download of acme/fresh-model")).to_be_visible()
    expect(page.get_by_test_id("download-progress")).to_contain_text("of 6.0 MB")
    expect(job).to_contain_text("Downloaded acme/fresh-model", timeout=15_000)
    expect(job).to_be_visible()  # the section stays open once the job has ended
    expect(page.get_by_test_id("download-progress")).to_contain_text("100% · 6.0 MB of 6.0 MB")
    page.keyboard.press("Escape")
    expect(page.locator("#model-select option[value='acme/fresh-model']")).to_have_count(1)


def test_a_user_is_not_offered_downloads(page: Any, gateway: ThreadedServer, user_key: str) -> None:
    sign_in(page, gateway, user_key)
    page.get_by_role("button", name="Model details").click()
    expect(page.get_by_test_id("model-info")).to_be_visible()
    expect(page.get_by_text("Download a model")).to_have_count(0)
