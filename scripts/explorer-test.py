#!/usr/bin/env python3
"""The explorer in a real browser: headless chromium opens /docs, runs "List technology assets"
through the page (Swagger UI's "Try it out" → Execute, with the prefilled development token) and
must see a 200 whose body holds the asset the caller created. Also: every resource the page
loaded came from the local API's origin (no CDN), and the console holds no error.

    explorer-test.py BASE_URL ASSET_NAME SCREENSHOT.png

Run by scripts/explorer-test.sh, which starts the stack and creates the asset."""

import sys
import time

from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait

base, asset_name, screenshot = sys.argv[1:4]

options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
            "--window-size=1100,1000", "--no-first-run", "--disable-extensions"):
    options.add_argument(arg)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
# The driver is Debian's chromium-driver: selenium must not go looking for one on the network.
driver = webdriver.Chrome(options=options, service=Service("/usr/bin/chromedriver"))


def fail(message):
    try:
        driver.save_screenshot(screenshot)
        print(f"explorer: screenshot of the failure in {screenshot}", file=sys.stderr)
    finally:
        driver.quit()
    sys.exit(f"explorer: {message}")


try:
    wait = WebDriverWait(driver, 30)
    driver.get(f"{base}/docs")
    block = wait.until(ec.presence_of_element_located(
        (By.ID, "operations-Technology-listTechnologyAssets")))
    # The token is prefilled: the lock of the operation shows "authorized".
    wait.until(lambda d: d.execute_script(
        "return !!window.ui && !!window.ui.authSelectors.authorized().get('bearerAuth')"))
    block.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    execute = wait.until(lambda d: block.find_element(By.CSS_SELECTOR, "button.execute"))
    driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", execute)
    execute.click()
    status = wait.until(lambda d: block.find_element(
        By.CSS_SELECTOR, ".live-responses-table .response .response-col_status"))
    wait.until(lambda d: status.text.strip() != "")
    body = block.find_element(By.CSS_SELECTOR, ".live-responses-table .response-col_description pre").text
    if not status.text.strip().startswith("200"):
        fail(f"expected a 200, the page shows {status.text!r}: {body[:500]}")
    if asset_name not in body:
        fail(f"the 200's body does not hold {asset_name!r}: {body[:500]}")
    curl = block.find_element(By.CSS_SELECTOR, ".curl-command").text
    if "Authorization: Bearer ey" not in curl or base not in curl:
        fail(f"the request did not carry the token to {base}: {curl[:300]}")

    origins = driver.execute_script(
        "return performance.getEntriesByType('resource').map(e => e.name)")
    foreign = [u for u in origins if not u.startswith(base + "/")]
    if foreign:
        fail(f"resources from elsewhere than {base}: {foreign}")
    errors = [e for e in driver.get_log("browser") if e.get("level") == "SEVERE"]
    if errors:
        fail(f"console errors: {errors}")

    # The screenshot: the operation's request (with the token) and its answer.
    driver.set_window_size(1100, 760)
    driver.execute_script(
        "arguments[0].scrollIntoView({block: 'start'}); window.scrollBy(0, -12)",
        block.find_element(By.CSS_SELECTOR, ".responses-wrapper"))
    time.sleep(0.3)
    driver.save_screenshot(screenshot)
    print(f"explorer: GET /api/v1/technology through /docs → {status.text.strip()}, "
          f"body holds {asset_name}; screenshot {screenshot}")
except TimeoutException as error:
    fail(f"timed out waiting for the page: {error.msg or error}")
driver.quit()
