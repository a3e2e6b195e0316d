"""Screenshots of each role's home, queue, readiness, assurance overview and contract page,
taken in Chromium at 1366 px from a running server with the seeded demo, for the README:

    manage.py screenshots --base-url http://127.0.0.1:8000 [--out docs/screenshots]

Pages a role may not open are skipped and named. Each page is also held to the per-role walk's
checks (tests/browser/walk.py): the command prints internal keys and serious axe violations it
finds and how long each page took to be ready."""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

ROLES = ("admin", "lead", "supervisor", "commissioner")
PASSWORD = "demo-pass-2026"
# (file name, path under /o/<org>/; "contract" opens the first contract the role can read)
PAGES = (
    ("home", ""),
    ("queue", "exceptions/"),
    ("readiness", "readiness/"),
    ("assurance", "assurance/"),
    ("contract", "contract"),
)


class Command(BaseCommand):
    help = "Screenshots of each role's main pages from a running demo server, for the README."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default="http://127.0.0.1:8000")
        parser.add_argument("--org", default="demo")
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "docs" / "screenshots"))
        parser.add_argument("--password", default=PASSWORD)

    def handle(self, *args, base_url, org, out, password, **options):
        chromium = shutil.which("chromium") or "/usr/bin/chromium"
        if not Path(chromium).exists():
            raise CommandError("Chromium is missing: apt-get install -y chromium")
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as error:
            raise CommandError(
                "Playwright for Python is missing: pip install playwright"
            ) from error
        from tests.browser.walk import raw_keys, ready_ms, serious_violations

        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        base_url = base_url.rstrip("/")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium, args=["--headless", "--no-sandbox", "--disable-gpu"]
            )
            for role in ROLES:
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                page.goto(f"{base_url}/accounts/login/")
                page.fill("#id_username", role)
                page.fill("#id_password", password)
                page.click("button[type=submit]")
                page.wait_for_load_state("networkidle")
                if "/accounts/login/" in page.url:
                    raise CommandError(f"Could not log in as {role}: is the demo seeded?")
                for name, tail in PAGES:
                    url = f"{base_url}/o/{org}/{tail}"
                    if tail == "contract":
                        page.goto(f"{base_url}/o/{org}/contracts/")
                        link = page.locator("main table a[href*='/contracts/']").first
                        if not link.count():
                            self.stdout.write(f"{role} {name}: no contract to open, skipped")
                            continue
                        url = base_url + link.get_attribute("href")
                    response = page.goto(url)
                    page.wait_for_load_state("networkidle")
                    if response is None or response.status != 200:
                        status = response.status if response else "no answer"
                        self.stdout.write(f"{role} {name}: HTTP {status}, skipped")
                        continue
                    path = out_dir / f"{role}-{name}.png"
                    page.screenshot(path=str(path), full_page=False)
                    keys, violations = raw_keys(page), serious_violations(page)
                    self.stdout.write(
                        f"{role} {name}: {path.name}, ready in {ready_ms(page)} ms"
                        + (f"; keys: {keys[:5]}" if keys else "")
                        + (f"; axe: {violations[:3]}" if violations else "")
                    )
                context.close()
            browser.close()
