"""The studio's page in a real browser: Debian's chromium, headless, driven by playwright. Upload a clip,
name it, synthesize a sentence; the audio element gets a playable source of the right duration and the
pictures load. A screenshot is kept in test-artifacts/studio.png."""
import io
import os

import soundfile as sf

CHROMIUM = "/usr/bin/chromium"


def test_upload_synthesize_and_listen_in_chromium(studio, reference_wav, repo_root):
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} missing: install it with bash scripts/setup.sh --browser"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(studio.url + "/")
        page.wait_for_function("document.querySelectorAll('#vocoder option').length > 0")
        page.set_input_files("#clip-file", str(reference_wav))
        page.fill("#voice-name", "browser voice")
        page.click("#add")
        page.wait_for_selector("#voices label:has-text('browser voice')")
        assert "Added browser voice" in page.inner_text("#add-status")
        page.wait_for_selector("#voice-map circle")
        page.select_option("#vocoder", "griffin_lim")
        page.fill("#text", "Hello from the browser. A second sentence.")
        page.click("#synthesize")
        page.wait_for_function("document.getElementById('result').dataset.seconds", timeout=120_000)
        for image in ("alignment", "mel"):  # the two pictures load independently: wait for each
            page.wait_for_function(f"document.getElementById('{image}').complete && "
                                   f"document.getElementById('{image}').naturalWidth > 0", timeout=60_000)
        # The audio element's own decoder reads the source: its duration is the synthesized length.
        duration = page.evaluate("""() => new Promise((resolve, reject) => {
            const audio = document.getElementById('result');
            if (audio.readyState >= 1) return resolve(audio.duration);
            audio.onloadedmetadata = () => resolve(audio.duration);
            audio.onerror = () => reject(new Error('the audio element cannot play its source'));
        })""")
        seconds = float(page.evaluate("document.getElementById('result').dataset.seconds"))
        assert abs(duration - seconds) < 0.01 and seconds > 0.25, (duration, seconds)
        assert page.evaluate("document.getElementById('mel').naturalWidth") > 100
        # The downloaded file is the same audio.
        href = page.get_attribute("#download", "href")
        data = page.evaluate("""async (url) => Array.from(new Uint8Array(await (await fetch(url)).arrayBuffer()))""",
                             href)
        audio, rate = sf.read(io.BytesIO(bytes(data)))
        assert abs(len(audio) / rate - seconds) < 0.01
        artifacts = repo_root / "test-artifacts"
        artifacts.mkdir(exist_ok=True)
        page.screenshot(path=str(artifacts / "studio.png"), full_page=True)
        browser.close()
    assert errors == []
