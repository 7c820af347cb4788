"""The notebooks in a real browser: JupyterLab, served from this repository, driven in headless Chromium.

- Notebook 07 (tiny profile, the runs the notebook tests share) is run cell by cell from JupyterLab's Run
  menu; its comparison widget must render and respond: another task or example changes the view, a sentence
  of one's own gets both models' probabilities, and no cell fails.
- Notebooks 01-06, as the notebook tests executed them, must show their figures (decoded PNG images in the
  rendered output).
- The executed lessons' self-contained pages (notebooks/executed/*.html), opened from disk, must show their
  figures.
- The browser's console must show no error (SEVERE entries of Chromium's log, `console_errors`).

JupyterLab runs from this environment with its own settings, workspace and config folders, on 127.0.0.1 and a
free port, with a token of the test's. GLUE_DIR reaches it relative to the repository, as the README's
`export GLUE_DIR=../shared/glue` gives it, and notebook 07's copy does not set glue_dir: the kernel resolves
GLUE_DIR itself (glue.data.resolve_glue_dir).

Needs Debian's chromium and chromium-driver (`apt-get install -y chromium chromium-driver`; .ci/run installs
them): without them the test is skipped, except in CI (CI set), where that is a failure. With
MTDNN_SCREENSHOT=<file.png> set it saves a screenshot of notebook 07 in JupyterLab there (figures/07_jupyterlab.png).
"""

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import papermill
import pytest
from test_notebooks import EXPECTED_FIGURES, KERNEL, NOTEBOOKS, notebook_parameters

# On the notebook tests' worker, after them (tests/conftest.py): it opens the notebooks they executed, and their
# runs.
pytestmark = pytest.mark.xdist_group("notebooks")

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK_07 = REPO / "notebooks" / "07_compare_mtdnn_vs_kd.ipynb"
WAIT = 180  # seconds for a notebook to run or a widget to answer (the tiny runs may still have to be trained)

IGNORED_CONSOLE = {
    "/favicon.ico": "a 404 for the site icon, should a server lack one: nothing of the notebooks' or the widgets'",
    "Blocked attempt to show a 'beforeunload' confirmation panel":
        "the test leaving a notebook JupyterLab counts as modified (ipywidgets restores the saved state of the "
        "training progress bars of notebooks 03-05), and Chromium blocking the leave-page question in headless mode",
}
"""Console errors that are not the notebooks' or the widgets': a part of the message, and why it is ignored."""


def chromium_and_driver() -> tuple[str, str] | None:
    """Paths of Chromium and its driver (Debian's chromium and chromium-driver), or None."""
    browser = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
    driver = shutil.which("chromedriver")
    return (browser, driver) if browser and driver else None


@pytest.fixture(scope="module")
def tools():
    found = chromium_and_driver()
    missing = None if found else "chromium and chromedriver not found on PATH (apt-get install -y chromium " \
                                  "chromium-driver; .ci/run installs them)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing = "selenium is not installed (pip install -e '.[dev]')"
    if missing:
        (pytest.fail if os.environ.get("CI") else pytest.skip)(missing)
    return found


@pytest.fixture(scope="module")
def served():
    """A folder inside the served repository for the notebooks the browser opens; removed afterwards."""
    folder = REPO / f"browser-test-{os.getpid()}"
    folder.mkdir()
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


@pytest.fixture(scope="module")
def jupyterlab(tools, served, glue_dir, tmp_path_factory):
    """JupyterLab serving the repository: yields (base URL, token)."""
    home = tmp_path_factory.mktemp("jupyterlab")
    settings = {"@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
                "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"}}  # every cell in the page
    for plugin, values in settings.items():
        path = home / "settings" / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))
    env = {**os.environ, "JUPYTER_PATH": str(Path(sys.prefix) / "share" / "jupyter"),
           "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTERLAB_SETTINGS_DIR": str(home / "settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "workspaces"), "JUPYTER_RUNTIME_DIR": str(home / "runtime"),
           "GLUE_DIR": os.path.relpath(glue_dir, REPO), "PWD": str(REPO)}  # as the README's shell gives them
    port, token = free_port(), secrets.token_hex(16)
    log = (home / "jupyterlab.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1",
                               f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
                               f"--ServerApp.root_dir={REPO}",
                               "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                               "--LabApp.extension_manager=readonly",  # no look-ups on PyPI
                               *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI runs as root
                              cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            get(f"{base}/api/status?token={token}")
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, \
                f"JupyterLab did not start: {(home / 'jupyterlab.log').read_text()[-3000:]}"
            time.sleep(0.5)
    yield base, token
    request = urllib.request.Request(f"{base}/api/shutdown?token={token}", method="POST")
    try:
        urllib.request.urlopen(request, timeout=10).close()
        server.wait(timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        server.kill()
        server.wait()
    log.close()


@pytest.fixture(scope="module")
def chrome(tools, tmp_path_factory):
    from selenium import webdriver

    browser, driver = tools
    options = webdriver.ChromeOptions()
    options.binary_location = browser
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     "--no-first-run", "--window-size=1400,1050",
                     f"--user-data-dir={tmp_path_factory.mktemp('chromium')}"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    session = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))
    yield session
    session.quit()


def console_errors(chrome) -> list[str]:
    """The browser's SEVERE console entries since the last call, less those of IGNORED_CONSOLE."""
    return [entry["message"] for entry in chrome.get_log("browser")
            if entry["level"] == "SEVERE" and not any(part in entry["message"] for part in IGNORED_CONSOLE)]


def open_notebook(chrome, jupyterlab, path: Path):
    """Open `path` (inside the repository) in a JupyterLab workspace of its own; returns once its cells are
    rendered and its kernel is idle."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    base, token = jupyterlab
    chrome.get(f"{base}/lab/workspaces/{path.stem}/tree/{path.relative_to(REPO).as_posix()}?token={token}")
    WebDriverWait(chrome, WAIT).until(lambda d: d.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-Cell"))
    relative = path.relative_to(REPO).as_posix()

    def kernel_idle(_):
        return any(s["path"] == relative and s["kernel"]["execution_state"] == "idle"
                   for s in get(f"{base}/api/sessions?token={token}"))

    WebDriverWait(chrome, WAIT, poll_frequency=0.5).until(kernel_idle)


def close_notebook(chrome, jupyterlab) -> None:
    """Leave the page (its console checked first), then end its kernel: the next notebook starts clean."""
    errors = console_errors(chrome)
    assert not errors, f"JavaScript errors in the browser's console: {errors}"
    chrome.get("about:blank")
    base, token = jupyterlab
    for session in get(f"{base}/api/sessions?token={token}"):
        request = urllib.request.Request(f"{base}/api/sessions/{session['id']}?token={token}", method="DELETE")
        urllib.request.urlopen(request, timeout=30).close()


def menu(chrome, title: str, command: str) -> None:
    """Click `command` (a JupyterLab command id) in the main menu `title`."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    dialogs = [d.text for d in chrome.find_elements(By.CSS_SELECTOR, ".jp-Dialog")]
    assert not dialogs, f"JupyterLab shows a dialog: {dialogs}"
    chrome.find_element(By.XPATH, f"//div[contains(@class, 'lm-MenuBar-itemLabel')][text()='{title}']").click()
    WebDriverWait(chrome, 10).until(lambda d: d.find_element(
        By.CSS_SELECTOR, f".lm-Menu li[data-command='{command}']")).click()


def prompts(chrome) -> list[str]:
    return [p.strip() for p in chrome.execute_script(
        "return [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]"
        ".map(p => p.textContent)")]


def run_all_cells(chrome) -> None:
    """Run > Run All Cells, and wait until every code cell has run or the run stopped at a failing cell."""
    menu(chrome, "Run", "runmenu:run-all")
    deadline, idle_polls = time.monotonic() + WAIT, 0
    while time.monotonic() < deadline:
        shown = prompts(chrome)
        if shown and all(re.fullmatch(r"\[\d+\]:", p) for p in shown):
            return
        busy = any("*" in p for p in shown)
        idle_polls = 0 if busy else idle_polls + 1
        if idle_polls >= 6:  # nothing queued or running, yet cells not run: a cell failed and the run stopped
            return
        time.sleep(0.5)
    raise AssertionError(f"the notebook was still running after {WAIT} s: prompts {prompts(chrome)}")


def widget_html(chrome, containing: str) -> str:
    """The text of the widget HTML output on view that contains `containing` ('' if none)."""
    from selenium.webdriver.common.by import By

    xpath = f"//div[contains(@class, 'widget-html-content')][contains(., '{containing}')]"
    found = chrome.find_elements(By.XPATH, xpath)
    return next((element.text for element in found if element.is_displayed()), "")


def wait_for(chrome, condition, what: str):
    from selenium.common.exceptions import TimeoutException
    from selenium.webdriver.support.ui import WebDriverWait

    try:
        return WebDriverWait(chrome, WAIT, poll_frequency=0.25).until(lambda d: condition())
    except TimeoutException:
        raise AssertionError(f"the widget did not answer within {WAIT} s: {what}") from None


def test_notebook_07_runs_in_jupyterlab_and_its_widgets_respond(chrome, jupyterlab, served, shared_run_dirs,
                                                                 tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    start = time.perf_counter()
    copy = served / NOTEBOOK_07.name
    parameters = notebook_parameters(NOTEBOOK_07, None, tmp_path / "figures", shared_run_dirs)
    del parameters["glue_dir"]  # GLUE_DIR, relative, from the server's environment
    papermill.execute_notebook(str(NOTEBOOK_07), str(copy), parameters=parameters, prepare_only=True,
                               kernel_name=KERNEL, progress_bar=False)
    open_notebook(chrome, jupyterlab, copy)
    run_all_cells(chrome)

    saved_before = copy.stat().st_mtime_ns
    menu(chrome, "File", "docmanager:save")  # the outputs, as the browser's kernel made them
    wait_for(chrome, lambda: copy.stat().st_mtime_ns != saved_before, "File > Save")
    code = [cell for cell in nbformat.read(copy, as_version=4).cells if cell.cell_type == "code"]
    errors = [f"{o.ename}: {o.evalue}" for cell in code for o in cell.outputs if o.output_type == "error"]
    assert not errors, f"a cell of notebook 07 failed in JupyterLab: {errors}"
    assert all(cell.execution_count for cell in code), "not every cell of notebook 07 ran"

    task_box = chrome.find_element(By.XPATH,
                                   "//div[contains(@class, 'widget-dropdown')][.//label[text()='task']]//select")
    tasks = [o.text for o in Select(task_box).options]
    assert tasks == ["CoLA", "RTE", "QNLI"], tasks
    shown = Select(task_box).first_selected_option.text  # the task the notebook's last cells chose
    first = wait_for(chrome, lambda: widget_html(chrome, "gold:"), "the example shown")
    assert first.startswith(f"{shown} dev, idx") and "MT-DNN-KD" in first, first

    task = "RTE" if shown != "RTE" else "QNLI"  # another task, of text pairs
    Select(task_box).select_by_visible_text(task)
    view = wait_for(chrome, lambda: widget_html(chrome, f"{task} dev, idx"), f"{task}'s first example")
    examples = Select(chrome.find_element(By.CSS_SELECTOR, ".widget-select select"))
    listed = [o.text.split(" · ")[0].split("idx ")[1] for o in examples.options]
    assert len(listed) > 1 and view.startswith(f"{task} dev, idx {listed[0]} ·"), (listed[:3], view)
    examples.select_by_index(1)  # another example
    wait_for(chrome, lambda: f"{task} dev, idx {listed[1]} ·" in widget_html(chrome, "gold:"), "the second example")
    assert len(re.findall(r"\d\.\d{3}", widget_html(chrome, "gold:"))) >= 4, "no probabilities for the example"

    if os.environ.get("MTDNN_SCREENSHOT"):
        chrome.find_element(By.CSS_SELECTOR, ".jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current").click()  # fold
        widget = chrome.find_element(By.XPATH, "//div[contains(@class, 'widget-html-content')][contains(., 'profile')]")
        chrome.execute_script("arguments[0].scrollIntoView({block: 'start'});", widget)
        time.sleep(1)
        chrome.save_screenshot(os.environ["MTDNN_SCREENSHOT"])

    chrome.find_element(By.XPATH, "//li[contains(@class, 'lm-TabBar-tab')][.//div[text()='your own input']]").click()
    boxes = [b for b in chrome.find_elements(By.CSS_SELECTOR, ".widget-textarea textarea") if b.is_displayed()]
    assert len(boxes) == 2, f"{task} compares two texts: two boxes expected"
    boxes[0].send_keys("A man is playing a guitar on stage.")
    boxes[1].send_keys("Nobody is making music.")
    time.sleep(0.5)  # let the boxes' values reach the kernel
    chrome.find_element(By.XPATH, "//button[contains(., 'Predict')]").click()
    answer = wait_for(chrome, lambda: widget_html(chrome, "prediction"), "the prediction of a typed pair")
    header = answer.splitlines()[0]
    assert "MT-DNN" in header and "MT-DNN-KD" in header, answer
    for label in ("entailment", "not_entailment"):  # a row per class: a probability per model
        row = next(line for line in answer.splitlines() if line.startswith(label))
        assert len(re.findall(r"\d\.\d{3}", row)) >= 2, row
    errors = console_errors(chrome)
    assert not errors, f"JavaScript errors in the browser's console: {errors}"
    chrome.execute_script("console.error('mtdnn_lite probe')")  # the check sees an error when there is one
    assert any("mtdnn_lite probe" in e for e in console_errors(chrome)), "the console check missed an error"
    close_notebook(chrome, jupyterlab)
    print(f"notebook 07 in JupyterLab: {time.perf_counter() - start:.1f} s")


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.stem < "07"], ids=lambda p: p.stem)
def test_notebook_figures_are_displayed_in_jupyterlab(path, chrome, jupyterlab, served, executed_notebooks, glue_dir,
                                                      shared_run_dirs, tmp_path, monkeypatch):
    from selenium.webdriver.common.by import By

    executed = executed_notebooks / path.name
    if not executed.exists():  # run alone, without the notebook tests before it: this environment's kernel
        monkeypatch.setenv("JUPYTER_PATH", str(Path(sys.prefix) / "share" / "jupyter"))
        papermill.execute_notebook(str(path), str(executed), kernel_name=KERNEL, cwd=str(path.parent),
                                   parameters=notebook_parameters(path, glue_dir, tmp_path / "figures",
                                                                  shared_run_dirs), progress_bar=False)
    copy = served / path.name
    shutil.copy(executed, copy)
    open_notebook(chrome, jupyterlab, copy)
    images = chrome.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const images = [...document.querySelectorAll('.jp-Notebook .jp-OutputArea-output img')];
        Promise.all(images.map(i => i.decode().then(() => i.naturalWidth, () => 0)
                                              .then(width => [i.src.slice(0, 22), width]))).then(done);""")
    expected = len(EXPECTED_FIGURES[path.stem])
    assert len(images) >= expected, f"{path.name}: {len(images)} figures shown, expected at least {expected}"
    assert all(src == "data:image/png;base64," and width > 0 for src, width in images), images
    assert chrome.find_elements(By.CSS_SELECTOR, ".jp-Notebook .jp-OutputArea-output")
    close_notebook(chrome, jupyterlab)


OFFLINE_CDNS = ("cdnjs.cloudflare.com", "unpkg.com/@jupyter-widgets/html-manager")
"""Where an executed lesson's page loads its scripts from (nbconvert's HTML template), unreachable offline."""

EXECUTED_PAGES = sorted((REPO / "notebooks" / "executed").glob("*.html"))


@pytest.mark.parametrize("page", EXECUTED_PAGES, ids=lambda p: p.stem)
def test_an_executed_lessons_page_shows_its_figures_offline(page, chrome):
    """The self-contained page of an executed lesson, opened from disk: every image in it decodes."""
    chrome.get(page.as_uri())
    images = chrome.execute_async_script("""
        const done = arguments[arguments.length - 1];
        const images = [...document.querySelectorAll('img')];
        Promise.all(images.map(i => i.decode().then(() => i.naturalWidth, () => 0)
                                              .then(width => [i.src.slice(0, 22), width]))).then(done);""")
    assert images, f"{page.name}: no figure on the page"
    assert all(src == "data:image/png;base64," and width > 0 for src, width in images), (page.name, images)
    # MathJax and require.js come from a CDN, and the widgets' renderer (lesson 07's saved widget state) from unpkg,
    # both unreachable offline: the equations then stay TeX source and the widgets their text, the rest renders
    errors = [e for e in console_errors(chrome) if not any(cdn in e for cdn in OFFLINE_CDNS)]
    assert not errors, f"{page.name}: JavaScript errors in the browser's console: {errors}"
