// Submits an S3 "POST Object" HTML form in headless Chromium, as a person would.
//
//   node form_upload.mjs FORM_HTML_PATH FILE_PATH
//
// Opens file://FORM_HTML_PATH, puts FILE_PATH into <input id="file">, clicks
// #submit and prints one JSON line on stdout:
//   {"status": <main-frame response status>, "url": <final URL>, "body": <page text>,
//    "redirects": [{"status", "url"}, ...]}   (responses redirected on the way)
// A 204 answer does not navigate (browsers stay on the form): then url is the form's.
// A redirect to a target that does not answer: status null, url the target, "error".
// Exit 0 once the server answered the POST, 1 otherwise (reason on stderr); 30 s in all.
// Env CHROMIUM: the browser (default /usr/bin/chromium, Debian's package).
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const [formPath, filePath] = process.argv.slice(2);
if (!formPath || !filePath) {
  console.error('usage: node form_upload.mjs FORM_HTML_PATH FILE_PATH');
  process.exit(2);
}

let browser;
const timer = setTimeout(() => {
  console.error('form_upload: no answer within 30 s');
  browser?.process()?.kill('SIGKILL');
  process.exit(1);
}, 30_000);

try {
  browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--headless=new'], // CI runs as root: no sandbox
  });
  const page = await browser.newPage();
  await page.goto('file://' + path.resolve(formPath));
  const input = await page.waitForSelector('#file');
  await input.uploadFile(path.resolve(filePath));

  const isMain = (q) => q.frame() === page.mainFrame() && q.isNavigationRequest();
  let failed; // a main-frame navigation that got no response (e.g. an unreachable redirect target)
  page.on('requestfailed', (q) => { if (isMain(q)) failed = q; });
  // The answer replaces the page, except a 204, which leaves the form where it is.
  const navigated = page.waitForNavigation({ waitUntil: 'load' });
  const noContent = page.waitForResponse((r) => isMain(r.request()) && r.status() === 204);
  [navigated, noContent].forEach((p) => p.catch(() => {})); // the loser rejects at close
  await page.click('#submit');
  const resp = await Promise.race([navigated, noContent]);
  const chain = (q) => q.redirectChain().map((r) => ({ status: r.response()?.status() ?? null, url: r.url() }));
  if (!resp) {
    if (!failed) throw new Error(`no response after submit (page at ${page.url()})`);
    const redirects = chain(failed);
    const error = failed.failure()?.errorText;
    console.log(JSON.stringify({ status: null, url: failed.url(), body: '', error, redirects }));
    if (!redirects.length) throw new Error(`the POST failed: ${error}`);
    clearTimeout(timer);
    await browser.close();
    process.exit(0);
  }
  // The page's text (Chromium shows an XML answer as a tree of its markup).
  const body = await page.evaluate(() =>
    document.body ? document.body.innerText : new XMLSerializer().serializeToString(document));
  const redirects = chain(resp.request());
  console.log(JSON.stringify({ status: resp.status(), url: page.url(), body: body.slice(0, 4000), redirects }));
  clearTimeout(timer);
  await browser.close();
} catch (e) {
  console.error(`form_upload: ${e?.stack || e}`);
  browser?.process()?.kill('SIGKILL');
  process.exit(1);
}
