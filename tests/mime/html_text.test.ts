import assert from "node:assert/strict";
import { decodeEntities, htmlToText, textToHtml } from "../../src/mime/mod.ts";

Deno.test("htmlToText() drops scripts, styles and comments and keeps text", () => {
  const html = `<html><head><title>T</title><style>p { color: red }</style>
<script>alert("<p>x</p>")</script></head><body><!-- hidden -->
<p>Hello&nbsp;<b>World</b> &amp; friends</p><div>Second<br>line</div></body></html>`;
  assert.equal(htmlToText(html), "Hello\u00a0World & friends\n\nSecond\nline");
});

Deno.test("htmlToText() turns lists, rules and tables into lines", () => {
  const html =
    "<ul><li>one</li><li>two</li></ul><hr><table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>";
  assert.equal(htmlToText(html), "- one\n- two\n----\na b\nc");
});

Deno.test("htmlToText() keeps whitespace inside pre and collapses it elsewhere", () => {
  assert.equal(htmlToText("a   b\n\n c<pre>x  y\n  z</pre>"), "a b c\nx  y\n  z");
});

Deno.test("htmlToText() survives broken markup", () => {
  assert.equal(htmlToText("a < b and <script>never closed"), "a < b and");
  assert.equal(htmlToText('<a href="x>y">link</a> <p'), "link");
  assert.equal(htmlToText("<!doctype html>text &unknown; &#x1F600; &#0;"), "text &unknown; 😀 \ufffd");
});

Deno.test("decodeEntities() decodes named and numeric references", () => {
  assert.equal(decodeEntities("&lt;&gt;&quot;&#39;&#x41;&euro;&Auml;"), "<>\"'A€Ä");
  assert.equal(decodeEntities("&constructor;"), "&constructor;");
});

Deno.test("textToHtml() escapes markup and keeps line breaks and indentation", () => {
  assert.equal(
    textToHtml('<b> & "x"\r\n  indented  twice'),
    "&lt;b&gt; &amp; &quot;x&quot;<br>\n&nbsp;&nbsp;indented &nbsp;twice",
  );
});
