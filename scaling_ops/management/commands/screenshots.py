"""Screenshots of each role's home, queue, readiness, assurance overview and contract page,
taken in Chromium at 1366 px from a running server with the seeded demo, for the README:

    manage.py screenshots --base-url http://127.0.0.1:8000 [--out docs/screenshots]

Pages a role may not open are skipped and named. Each page is also held to the per-role walk's
checks (scaling_ops/browser_walk.py): the command prints internal keys and serious axe violations it
finds and how long each page took to be ready."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from scaling_ops import browser_walk

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
        try:
            playwright, browser = browser_walk.start_chromium()
        except browser_walk.BrowserMissing as error:
            raise CommandError(str(error)) from error
        out_dir = Path(out)
        out_dir.mkdir(parents=True, exist_ok=True)
        base_url = base_url.rstrip("/")
        try:
            for role in ROLES:
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = context.new_page()
                if not browser_walk.log_in(page, base_url, role, password):
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
                    keys = browser_walk.raw_keys(page)
                    violations = browser_walk.serious_violations(page)
                    self.stdout.write(
                        f"{role} {name}: {path.name}, ready in {browser_walk.ready_ms(page)} ms"
                        + (f"; keys: {keys[:5]}" if keys else "")
                        + (f"; axe: {violations[:3]}" if violations else "")
                    )
                context.close()
        finally:
            browser.close()
            playwright.stop()
