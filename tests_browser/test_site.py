"""The built docs site as a reader meets it: in a real browser.

Serves `site/` (build it first with `make docs`) on 127.0.0.1, opens every
page in Debian's Chromium through Playwright, and checks what a reader would
notice: console errors, broken links, anchors and images, tutorials without
plots or with error output, code blocks without copy buttons, a search that
finds nothing, pages the navigation does not reach, tutorial code that
scrolls sideways or plots shrunk past reading, folded cells left open, and
whether a click enlarges a picture. Screenshots of the home page and of a
tutorial, at desktop and phone widths, go to `build/screenshots/`.

Run with `make site-test`, or directly:
`.venv/bin/python -m pytest -p no:cacheprovider tests_browser -q`.
This directory is outside `tests/`, so the per-backend `make test` runs do
not collect it. Environment overrides: `KERAS_DROPOUT_SITE` (the built
site), `KERAS_DROPOUT_SCREENSHOTS` (where screenshots go),
`KERAS_DROPOUT_CHROMIUM` (the browser binary).
"""

import functools
import html
import html.parser
import http.server
import json
import os
import pathlib
import re
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import sync_playwright

from tools import evidence
from tools.docs_hooks import FOLDED_CELLS

ROOT = pathlib.Path(__file__).resolve().parents[1]
SITE = pathlib.Path(os.environ.get("KERAS_DROPOUT_SITE", ROOT / "site"))
SCREENSHOTS = pathlib.Path(
    os.environ.get("KERAS_DROPOUT_SCREENSHOTS", ROOT / "build" / "screenshots")
)
CHROMIUM = os.environ.get("KERAS_DROPOUT_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
]
DESKTOP = {"width": 1280, "height": 800}
WIDE = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
# A plot wider than the column is shrunk to fit; it must keep this share of
# its width, so that 9-point text saved at 100 dpi (12.5 px) shows at 9 px or
# more (tests/test_tutorial_figures.py keeps figures <= 9 in, fonts >= 9 pt).
MIN_PLOT_SCALE = 0.72
# Each search term and the API page that documents it.
SEARCHES = {"DropBlock2D": "api/dropblock/", "mc_predict": "api/models/"}
# Material's copy button on a code block (`.md-clipboard` before 9.7).
MATERIAL_COPY = '[data-md-type="copy"], .md-clipboard'
# Words in a notebook's stderr that mean a cell failed, not just warned.
ERROR_OUTPUT = re.compile(r"Traceback|\b[A-Za-z]*Error\b")

# What each page reports, read in the browser after it has loaded.
PAGE_REPORT_JS = """([MATERIAL_COPY, FOLDED_TAGS]) => {
  const article = document.querySelector("article") || document.body;
  const COPY = MATERIAL_COPY;
  const codeBlocks = [...article.querySelectorAll("pre")]
    .filter((pre) => pre.querySelector("code"));
  const cells = [...document.querySelectorAll(".jp-CodeCell .jp-InputArea-editor")];
  const stderr = [...document.querySelectorAll(
    '[data-mime-type="application/vnd.jupyter.stderr"]')];
  const plots = [...document.querySelectorAll(".jp-OutputArea-output img")]
    .filter((img) => /^data:image\\/(png|svg)|\\.(png|svg)$/.test(img.src));
  return {
    links: [...document.querySelectorAll("a[href]")].map((a) => a.href),
    navLinks: [...document.querySelectorAll("nav.md-nav--primary a[href]")]
      .map((a) => a.href),
    images: [...document.images].map((img) => ({
      src: img.src.slice(0, 120),
      ok: img.complete && img.naturalWidth > 0,
    })),
    ids: [...document.querySelectorAll("[id]")].map((el) => el.id)
      .concat([...document.querySelectorAll("a[name]")].map((a) => a.name)),
    codeBlocks: codeBlocks.length,
    codeBlocksWithCopy: codeBlocks.filter((pre) => pre.querySelector(COPY)).length,
    // Notebook code cells carry mkdocs-jupyter's <clipboard-copy> button,
    // which only works once its custom element is defined.
    cells: cells.length,
    cellsWithCopy: cells.filter((cell) => cell.querySelector(
      (customElements.get("clipboard-copy") ? "clipboard-copy, " : "") + COPY)).length,
    notebook: document.querySelector(".jp-Notebook") !== null,
    plots: plots.filter((img) => img.complete && img.naturalWidth > 0).length,
    stderr: stderr.map((el) => el.innerText),
    errorCells: document.querySelectorAll(".jp-OutputArea-output.jp-mod-error, "
      + '[data-mime-type="application/vnd.jupyter.error"]').length,
    // Cells tagged for folding (tools/docs_hooks.py) that are not folded.
    unfolded: FOLDED_TAGS.flatMap((tag) => [...document.querySelectorAll(
      `.jp-Cell.celltag_${tag}`)].filter((cell) => !cell.closest("details.kd-folded"))
      .map((cell) => tag)),
  };
}"""

# How a tutorial's cells fit the column, with every folded cell opened: the
# code cells that scroll (or spill) sideways, and each output image's natural
# and displayed width.
LAYOUT_JS = """() => {
  document.querySelectorAll("details").forEach((d) => { d.open = true; });
  const article = document.querySelector("article.md-content__inner");
  const style = getComputedStyle(article);
  const column = article.clientWidth - parseFloat(style.paddingLeft)
    - parseFloat(style.paddingRight);
  const right = article.getBoundingClientRect().right;
  const editors = [...document.querySelectorAll(".jp-CodeCell .jp-InputArea-editor")];
  const wideCells = editors.flatMap((editor, index) => {
    // What scrolls, and the code itself (a clipped line counts too).
    const scrolls = [editor, ...editor.querySelectorAll("*")].filter((el) =>
      (el.tagName === "PRE" || /auto|scroll/.test(getComputedStyle(el).overflowX))
      && el.scrollWidth > el.clientWidth + 1);
    const spill = editor.getBoundingClientRect().right - right;
    if (!scrolls.length && spill <= 1) return [];
    const lines = editor.innerText.split("\\n");
    const longest = lines.reduce((a, b) => (b.length > a.length ? b : a), "");
    const excess = Math.max(
      spill, ...scrolls.map((el) => el.scrollWidth - el.clientWidth));
    return [{index, excess: Math.round(excess), longest}];
  });
  const images = [...document.querySelectorAll(".jp-OutputArea-output img")]
    .filter((img) => img.complete && img.naturalWidth > 0)
    .map((img) => ({
      natural: img.naturalWidth,
      shown: img.getBoundingClientRect().width,
    }));
  return {column, wideCells, images, font: editors.length
    ? getComputedStyle(editors[0].querySelector("pre") || editors[0]).fontSize : null};
}"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base signature
        pass


def _page_files():
    return sorted(p.relative_to(SITE).as_posix() for p in SITE.rglob("*.html"))


def _url_path(page_file):
    """`api/dropout/index.html` -> `api/dropout/`, `404.html` unchanged."""
    if page_file.endswith("index.html"):
        return page_file[: -len("index.html")]
    return page_file


def _file_of(url_path):
    """The site file a URL path serves (`api/dropout/` -> its index.html)."""
    path = urllib.parse.unquote(url_path).lstrip("/")
    if path == "" or path.endswith("/"):
        path += "index.html"
    return path


class _Ids(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)


@pytest.fixture(scope="module")
def server():
    if not (SITE / "index.html").is_file():
        pytest.fail(f"No built site in {SITE}: run `make docs` first.")
    handler = functools.partial(_QuietHandler, directory=str(SITE))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"No Chromium at {CHROMIUM}: `apt-get install chromium`.")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


def _new_page(browser, base, problems, **context_args):
    """A page that records console errors, failed and external requests.

    Requests to any host but the local server are aborted and recorded: the
    site must work offline, and a reader's browser would load them from
    third parties.
    """
    context = browser.new_context(**context_args)
    host = urllib.parse.urlsplit(base).netloc

    def route(route):
        if urllib.parse.urlsplit(route.request.url).netloc == host:
            route.continue_()
        else:
            problems["external"].append(route.request.url)
            route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on(
        "console",
        lambda msg: (
            msg.type == "error"
            and problems["console"].append(f"{page.url}: {msg.text}")
        ),
    )
    page.on("pageerror", lambda err: problems["console"].append(f"{page.url}: {err}"))

    def failed(request):
        if urllib.parse.urlsplit(request.url).netloc == host:
            problems["requests"].append(f"{request.url}: {request.failure}")

    def response(resp):
        if resp.status >= 400 and urllib.parse.urlsplit(resp.url).netloc == host:
            problems["requests"].append(f"{resp.url}: HTTP {resp.status}")

    page.on("requestfailed", failed)
    page.on("response", response)
    return page


@pytest.fixture(scope="module")
def crawl(server, browser):
    """Visit every HTML page of the site once; return what each reports."""
    problems = {"console": [], "requests": [], "external": []}
    page = _new_page(browser, server, problems, viewport=DESKTOP)
    reports = {}
    for page_file in _page_files():
        page.goto(server + _url_path(page_file), wait_until="load")
        # Material adds copy buttons and loads the search index after load.
        page.wait_for_load_state("networkidle")
        reports[page_file] = page.evaluate(
            PAGE_REPORT_JS, [MATERIAL_COPY, list(FOLDED_CELLS)]
        )
    page.context.close()
    return {"pages": reports, "problems": problems, "base": server}


def test_every_tutorial_notebook_has_a_page():
    missing = [
        nb.name
        for nb in sorted((ROOT / "tutorials").glob("*.ipynb"))
        if not (SITE / "tutorials" / nb.stem / "index.html").is_file()
    ]
    assert not missing, f"tutorials without a built page: {missing}"


def _findings_on_page(html_text):
    """The FINDINGS a tutorial page shows in its last FINDINGS output."""
    found = re.findall(r"FINDINGS (\{.*?\})\s*<", html.unescape(html_text))
    return json.loads(found[-1]) if found else None


def test_evidence_page_shows_what_the_tutorial_pages_measured():
    page = (SITE / "evidence" / "index.html").read_text()
    rows = re.findall(
        r'data-notebook="([\w-]+)" data-claim="(claim_\w+)"[^>]*>([^<]*)<', page
    )
    assert len(rows) == len(evidence.CLAIMS)
    for notebook, claim, verdict in rows:
        tutorial = (SITE / "tutorials" / notebook / "index.html").read_text()
        findings = _findings_on_page(tutorial)
        assert findings is not None, f"{notebook}: no FINDINGS on its page"
        assert findings[claim] == verdict, (notebook, claim)
        assert verdict in evidence.VERDICTS


def test_no_console_errors(crawl):
    assert not crawl["problems"]["console"], "\n".join(crawl["problems"]["console"])


def test_no_failed_local_requests(crawl):
    assert not crawl["problems"]["requests"], "\n".join(crawl["problems"]["requests"])


def test_no_requests_to_other_hosts(crawl):
    external = sorted(set(crawl["problems"]["external"]))
    assert not external, "pages load third-party resources:\n" + "\n".join(external)


def test_internal_links_and_anchors_resolve(crawl):
    base = crawl["base"]
    host = urllib.parse.urlsplit(base).netloc
    pages = crawl["pages"]
    status = {}
    broken = []
    for page_file, report in pages.items():
        for href in set(report["links"]):
            parts = urllib.parse.urlsplit(href)
            if parts.scheme not in ("http", "https") or parts.netloc != host:
                continue
            target = _file_of(parts.path)
            if target not in status:
                try:
                    with urllib.request.urlopen(base + target, timeout=10) as resp:
                        status[target] = resp.status
                except urllib.error.HTTPError as err:
                    status[target] = err.code
            if status[target] != 200:
                broken.append(f"{page_file}: {href} (HTTP {status[target]})")
                continue
            fragment = urllib.parse.unquote(parts.fragment)
            if not fragment or not target.endswith(".html"):
                continue
            if target in pages:
                ids = set(pages[target]["ids"])
            else:
                parser = _Ids()
                parser.feed((SITE / target).read_text(encoding="utf-8"))
                ids = parser.ids
            if fragment not in ids:
                broken.append(f"{page_file}: {href} (no anchor #{fragment})")
    assert not broken, "broken internal links:\n" + "\n".join(sorted(broken))


def test_images_load(crawl):
    broken = [
        f"{page_file}: {image['src']}"
        for page_file, report in crawl["pages"].items()
        for image in report["images"]
        if not image["ok"]
    ]
    assert not broken, "images that do not load:\n" + "\n".join(broken)


def test_tutorials_show_plots_and_no_errors(crawl):
    tutorials = {
        page_file: report
        for page_file, report in crawl["pages"].items()
        if page_file.startswith("tutorials/")
    }
    assert tutorials, "the site has no tutorial pages"
    problems = []
    for page_file, report in tutorials.items():
        if not report["notebook"]:
            problems.append(f"{page_file}: not rendered as a notebook")
        if report["plots"] == 0:
            problems.append(f"{page_file}: no rendered plot")
        if report["errorCells"]:
            problems.append(f"{page_file}: {report['errorCells']} error output(s)")
        for text in report["stderr"]:
            if ERROR_OUTPUT.search(text):
                problems.append(f"{page_file}: error output: {text[:300]}")
    assert not problems, "\n".join(problems)


def test_code_blocks_have_copy_buttons(crawl):
    pages = crawl["pages"]
    assert sum(r["codeBlocks"] for r in pages.values()) > 0
    assert sum(r["cells"] for r in pages.values()) > 0
    missing = [
        f"{page_file}: {r[kind] - r[kind + 'WithCopy']} of {r[kind]} "
        f"{'notebook cells' if kind == 'cells' else 'code blocks'} "
        "without a working copy button"
        for page_file, r in pages.items()
        for kind in ("codeBlocks", "cells")
        if r[kind + "WithCopy"] < r[kind]
    ]
    assert not missing, "\n".join(missing)


@pytest.mark.parametrize(
    "path, button, code",
    [
        ("", f"article pre :is({MATERIAL_COPY})", "make docs"),
        ("tutorial", ".jp-CodeCell clipboard-copy", "import os"),
    ],
    ids=["home-page", "tutorial"],
)
def test_copy_button_copies_the_code(server, browser, path, button, code):
    problems = {"console": [], "requests": [], "external": []}
    page = _new_page(browser, server, problems, viewport=DESKTOP)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    url = server + (_url_path(_tutorial_page()) if path == "tutorial" else path)
    page.goto(url, wait_until="networkidle")
    page.locator(button).first.click()
    copied = page.evaluate("navigator.clipboard.readText()")
    page.context.close()
    assert copied.startswith(code), copied[:200]


def test_navigation_reaches_every_page(crawl):
    base = crawl["base"]
    pages = crawl["pages"]
    nav = {
        _file_of(urllib.parse.urlsplit(href).path)
        for href in pages["index.html"]["navLinks"]
        if href.startswith(base)
    }
    unreached = [p for p in pages if p != "404.html" and p not in nav]
    assert not unreached, f"pages the navigation does not link to: {unreached}"


@pytest.mark.parametrize("term", sorted(SEARCHES))
def test_search_finds(server, browser, term):
    problems = {"console": [], "requests": [], "external": []}
    page = _new_page(browser, server, problems, viewport=DESKTOP)
    page.goto(server, wait_until="load")
    # Material answers typed keys (not a programmatic fill), once its search
    # worker has loaded the index.
    page.wait_for_function(
        "!document.querySelector('.md-search-result__meta')"
        ".innerText.includes('Initializing')"
    )
    box = page.locator("input.md-search__input")
    box.click()
    box.press_sequentially(term)
    results = page.locator(".md-search-result__item")
    results.first.wait_for(timeout=20_000)
    hrefs = page.eval_on_selector_all(
        ".md-search-result__item a[href]", "els => els.map(a => a.href)"
    )
    texts = results.all_inner_texts()
    page.context.close()
    assert any(SEARCHES[term] in href for href in hrefs), (term, hrefs)
    assert any(term.lower() in text.lower() for text in texts), (term, texts)
    assert not problems["console"], problems["console"]


def _tutorial_page():
    tutorials = sorted(p for p in _page_files() if p.startswith("tutorials/"))
    quickstart = "tutorials/quickstart/index.html"
    return quickstart if quickstart in tutorials else tutorials[0]


@pytest.mark.parametrize("width", ["desktop", "phone"])
def test_screenshots(server, browser, width):
    """Home page and a tutorial as a reader first sees them (artifacts)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    viewport = DESKTOP if width == "desktop" else PHONE
    extra = {} if width == "desktop" else {"is_mobile": True, "has_touch": True}
    problems = {"console": [], "requests": [], "external": []}
    page = _new_page(browser, server, problems, viewport=viewport, **extra)
    overflow = {}

    def shot(name, **options):
        page.screenshot(
            path=SCREENSHOTS / f"{name}-{width}.png", animations="disabled", **options
        )
        # Nothing may overflow sideways: a reader should never scroll right.
        overflow[name] = page.evaluate(
            "document.documentElement.scrollWidth"
            " - document.documentElement.clientWidth"
        )

    page.goto(server, wait_until="networkidle")
    shot("home")
    shot("home-full", full_page=True)
    page.goto(server + _url_path(_tutorial_page()), wait_until="networkidle")
    shot("tutorial")
    page.locator(".jp-OutputArea-output img").first.scroll_into_view_if_needed()
    # The header swaps the site name for the page title on scroll; let the
    # swap finish before the picture.
    page.wait_for_timeout(500)
    shot("tutorial-plot")
    page.context.close()
    wide = {name: px for name, px in overflow.items() if px > 0}
    assert not wide, f"pages wider than the {width} screen (px): {wide}"
    assert not problems["console"], problems["console"]


@pytest.fixture(scope="module")
def layouts(server, browser):
    """`LAYOUT_JS` of every tutorial page, at each desktop size."""
    problems = {"console": [], "requests": [], "external": []}
    tutorials = [p for p in _page_files() if p.startswith("tutorials/")]
    found = {}
    for name, viewport in (("1280x800", DESKTOP), ("1440x900", WIDE)):
        page = _new_page(browser, server, problems, viewport=viewport)
        for page_file in tutorials:
            page.goto(server + _url_path(page_file), wait_until="networkidle")
            found[name, page_file] = page.evaluate(LAYOUT_JS)
        page.context.close()
    return found


def test_tagged_cells_are_folded(crawl):
    unfolded = {
        page_file: report["unfolded"]
        for page_file, report in crawl["pages"].items()
        if report["unfolded"]
    }
    assert not unfolded, f"cells tagged for folding, shown open: {unfolded}"


@pytest.mark.parametrize("size", ["1280x800", "1440x900"])
def test_code_cells_fit_the_column(layouts, size):
    wide = [
        f"{page_file} code cell {cell['index']}: {cell['excess']} px too wide "
        f"(code font {report['font']}, column {report['column']:.0f} px); "
        f"longest line ({len(cell['longest'])} chars): {cell['longest'][:100]}"
        for (name, page_file), report in layouts.items()
        if name == size
        for cell in report["wideCells"]
    ]
    assert not wide, f"tutorial code cells that scroll sideways at {size}:\n" + (
        "\n".join(wide)
    )


def test_plots_keep_most_of_their_size(layouts):
    shrunk = [
        f"{page_file}: plot {index} ({image['natural']} px wide) shown at "
        f"{image['shown']:.0f} px ({image['shown'] / image['natural']:.2f} of it, "
        f"column {report['column']:.0f} px)"
        for (name, page_file), report in layouts.items()
        if name == "1440x900"
        for index, image in enumerate(report["images"])
        if image["natural"] > report["column"]
        and image["shown"] < MIN_PLOT_SCALE * image["natural"]
    ]
    assert not shrunk, (
        f"plots shown at less than {MIN_PLOT_SCALE} of their width at 1440x900 "
        "(9-point text would show under 9 px; make the figure narrower):\n"
        + "\n".join(shrunk)
    )


def _check_zoom(page, image):
    """Click `image`: the overlay shows it bigger; Escape or a click closes it."""
    assert image.evaluate("el => getComputedStyle(el).cursor") == "zoom-in"
    image.scroll_into_view_if_needed()
    scroll = page.evaluate("window.scrollY")
    small = image.bounding_box()
    natural = image.evaluate("el => el.naturalWidth")
    image.click()
    overlay = page.locator(".kd-zoom")
    overlay.wait_for(state="visible", timeout=5_000)
    full = overlay.locator("img")
    assert full.evaluate("el => el.src") == image.evaluate("el => el.src")
    box = full.bounding_box()
    viewport = page.viewport_size
    # Its natural size, or as big as the window allows.
    assert (
        abs(box["width"] - natural) <= 1
        or box["width"] >= viewport["width"] - 64
        or box["height"] >= viewport["height"] - 64
    ), (box, natural, viewport)
    assert box["width"] >= small["width"] - 1
    page.keyboard.press("Escape")
    overlay.wait_for(state="detached", timeout=5_000)
    assert image.evaluate("el => el === document.activeElement")
    # Keyboard: Enter on the focused image opens it; a click anywhere closes.
    image.focus()
    page.keyboard.press("Enter")
    overlay.wait_for(state="visible", timeout=5_000)
    page.mouse.click(5, viewport["height"] - 5)
    overlay.wait_for(state="detached", timeout=5_000)
    assert page.evaluate("window.scrollY") == scroll
    assert not page.evaluate(
        "document.documentElement.classList.contains('kd-zoom-open')"
    )


def test_pictures_enlarge_on_click(server, browser):
    problems = {"console": [], "requests": [], "external": []}
    page = _new_page(browser, server, problems, viewport=WIDE)
    page.goto(server, wait_until="networkidle")
    # Reach the tutorial by a link, as a reader does: with Material's instant
    # navigation on, the page is swapped in rather than loaded.
    tutorial = _url_path(_tutorial_page())
    with page.expect_response(lambda r: tutorial in r.url):
        page.evaluate(
            "(path) => [...document.querySelectorAll('a[href]')]"
            ".find((a) => a.pathname.endsWith(path)).click()",
            tutorial,
        )
    page.wait_for_load_state("networkidle")
    page.wait_for_selector(".jp-OutputArea-output img")
    # A plot the column shrinks, so that enlarging shows more of it.
    index = page.evaluate(
        "[...document.querySelectorAll('.jp-OutputArea-output img')]"
        ".findIndex((img) => img.naturalWidth > img.getBoundingClientRect().width)"
    )
    assert index >= 0, "no plot on the tutorial page is shrunk to fit"
    _check_zoom(page, page.locator(".jp-OutputArea-output img").nth(index))

    guides = [p for p in _page_files() if p.startswith("guides/")]
    with_pictures = [
        p for p in guides if re.search(r"<article.*<img ", (SITE / p).read_text(), re.S)
    ]
    assert with_pictures, "no guide has a picture"
    page.goto(server + _url_path(with_pictures[0]), wait_until="networkidle")
    _check_zoom(page, page.locator("article img").first)
    page.context.close()
    assert not problems["console"], problems["console"]
