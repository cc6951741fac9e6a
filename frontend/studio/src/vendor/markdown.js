// Stands in for codemirror-json-schema's utils/markdown.js (see vite.config.js): that module loads
// the shiki highlighter (a megabyte) to colour code in hover texts. The schema's descriptions are
// plain sentences, so markdown-it alone renders them.
import md from "markdown-it";

const renderer = md({ linkify: false, typographer: true });

export function renderMarkdown(markdown, inline = true) {
  return inline ? renderer.renderInline(markdown) : renderer.render(markdown);
}
