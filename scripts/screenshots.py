"""Screenshots of every dashboard page in Chinese and English (headless Debian chromium), at 1280 px or --width.

Usage: python scripts/screenshots.py [--db data/ipdash.duckdb] [--out docs/screenshots] [--width 1280]
Builds the demo store when absent, starts `ipdash serve` on a free local port, signs in as the demo
national leader through the login form and saves one PNG per page and language. Look at them.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ("overview", "/", "leader"),
    ("province", "/place/330000", "leader"),
    ("prefecture", "/place/330100", "leader"),
    ("prefecture-configured", "/place/330100?peer=configured", "leader"),
    ("profile", "/office/330100?peer=siblings", "leader"),
    ("monitor", "/monitor?office=330000", "leader"),
    ("cases", "/cases", "leader"),
    ("methodology", "/methodology", "leader"),
    ("provincial-user", "/", "zhejiang"),
    ("provincial-user-nation", "/place/100000", "zhejiang"),
    ("prefecture-user", "/", "hangzhou"),
    ("compare", "/compare?offices=330000,320000,440000", "leader"),
    ("inspection", "/inspection", "admin"),
    ("plan", "/inspection/{plan}", "admin"),
    ("archives", "/archives", "inspector"),
    ("rectification", "/rectification", "zhejiang"),
    ("notice", "/rectification/{notice}", "zhejiang"),
    ("monitor-overdue", "/monitor?office=330000", "zhejiang"),
    ("supervision", "/supervision", "zhejiang"),
    ("supervised-case", "/case/{supervised}", "zhejiang"),
    ("visits", "/visits", "zhejiang"),
    ("visits-record", "/visits", "admin"),
    ("visit-notice", "/rectification/{visit_notice}", "zhejiang"),
    ("subscriptions", "/subscriptions", "zhejiang"),
    ("assessment", "/assessment", "zhejiang"),
    ("public", "/public", None),
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def driver(width: int, height: int) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        f"--window-size={width},{height}",
        "--lang=zh-CN",
    ):
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def login(d: webdriver.Chrome, base: str, user: str) -> None:
    d.get(base + "/logout")
    d.get(base + "/login")
    d.find_element(By.ID, "username").send_keys(user)
    d.find_element(By.ID, "password").send_keys(f"{user}-demo-2024")
    d.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    WebDriverWait(d, 60).until(EC.presence_of_element_located((By.ID, "content")))


def demo_plan(db: str) -> str:
    """The id of the demo's inspection plan (`ipdash demo` creates one)."""
    sys.path.insert(0, str(ROOT))
    from access.opstore import OpStore, default_path
    from inspection.plans import list_plans
    from ipdash.demo_plans import PUBLISHED

    plans = list_plans(OpStore(default_path(db)))
    return next(
        p["plan_id"] for p in plans if p["plan_id"].startswith("demo-") and not p["plan_id"].startswith(PUBLISHED)
    )


def demo_supervised(db: str) -> str:
    """`office/case_no` of a case the demo supervises (its page shows the supervision)."""
    from access.opstore import OpStore, default_path

    row = OpStore(default_path(db)).read("SELECT office_code, case_no FROM supervisions ORDER BY due_date DESC")[0]
    return f"{row['office_code']}/{row['case_no']}"


def demo_notice(db: str) -> str:
    """A rectification notice of the demo's published inspection with a history (Hangzhou's)."""
    from access.opstore import OpStore, default_path
    from inspection.rectification import list_notices

    return next(n["notice_id"] for n in list_notices(OpStore(default_path(db))) if n["office_code"] == "330100")


def demo_visit_notice(db: str) -> str:
    """A notice opened by a demo return visit, answered (the first one)."""
    from access.opstore import OpStore, default_path
    from inspection.rectification import list_notices

    return next(n["notice_id"] for n in list_notices(OpStore(default_path(db))) if n["kind"] == "visit")


def settle(d: webdriver.Chrome) -> None:
    """Wait until Dash has no callback in flight and the page has content."""
    WebDriverWait(d, 120).until(
        lambda x: x.execute_script(
            "return !document.querySelector('[data-dash-is-loading=\"true\"]') && "
            "document.querySelector('#content') && document.querySelector('#content').innerText.length > 20"
        )
    )
    time.sleep(1.5)


def set_lang(d: webdriver.Chrome, lang: str) -> None:
    label = "English" if lang == "en" else "中文"
    for el in d.find_elements(By.CSS_SELECTOR, "#lang label"):
        if el.text.strip() == label:
            el.click()
    settle(d)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--db", default=str(ROOT / "data" / "ipdash.duckdb"))
    ap.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    ap.add_argument("--width", type=int, default=1280)
    ap.add_argument("--height", type=int, default=900)
    ap.add_argument("--only", nargs="*", help="only these pages (names of PAGES), e.g. visits notice")
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exe = Path(sys.executable).parent / "ipdash"
    subprocess.run(
        [str(exe), "demo", "--db", args.db, "--build-only", "--quiet"], check=True, stdout=subprocess.DEVNULL
    )
    port = free_port()
    server = subprocess.Popen([str(exe), "serve", "--db", args.db, "--port", str(port)], stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    d = driver(args.width, args.height)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        current = None
        plan = demo_plan(args.db)
        notice = demo_notice(args.db)
        supervised = demo_supervised(args.db)
        visit_notice = demo_visit_notice(args.db)
        for lang in ("zh", "en"):
            for name, path, user in PAGES:
                if args.only and name not in args.only:
                    continue
                if user is None:  # the public page: one HTML page, both languages on it
                    if lang == "en":
                        continue
                    d.get(base + "/logout")
                    d.get(base + path)
                    current = None
                    time.sleep(1)
                else:
                    if user != current:
                        login(d, base, user)
                        current = user
                    d.get(
                        base + path.format(plan=plan, notice=notice, supervised=supervised, visit_notice=visit_notice)
                    )
                    settle(d)
                    set_lang(d, lang)
                total = d.execute_script("return document.body.scrollHeight")
                d.set_window_size(args.width, min(max(total, args.height), 4000))
                if user is not None:
                    settle(d)
                target = out / f"{name}-{lang}.png"
                d.save_screenshot(str(target))
                d.set_window_size(args.width, args.height)
                print(target)
    finally:
        d.quit()
        server.terminate()
    return 0


if __name__ == "__main__":
    sys.exit(main())
