// Builds the studio into the Python package's static files (src/itinera/web/static/studio/):
// one script and one stylesheet with fixed names, so the page's template names them directly
// and `pip install itinera` ships them without Node.
import { defineConfig } from "vite";
import { fileURLToPath } from "node:url";

const out = fileURLToPath(new URL("../../src/itinera/web/static/studio", import.meta.url));

const markdown = fileURLToPath(new URL("./src/vendor/markdown.js", import.meta.url));

// codemirror-json-schema's markdown module, replaced by ours (no shiki): see src/vendor/markdown.js.
const plainMarkdown = {
  name: "itinera-plain-markdown",
  enforce: "pre",
  resolveId(source, importer) {
    if (importer && importer.includes("codemirror-json-schema") && /\/utils\/markdown(\.js)?$/.test(source)) {
      return markdown;
    }
    return null;
  },
};

export default defineConfig({
  plugins: [plainMarkdown],
  esbuild: { jsx: "automatic", jsxImportSource: "preact" },
  build: {
    outDir: out,
    emptyOutDir: true,
    target: "es2020",
    sourcemap: false,
    cssCodeSplit: false,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: fileURLToPath(new URL("./src/main.jsx", import.meta.url)),
      output: {
        format: "es",
        entryFileNames: "studio.js",
        assetFileNames: "studio.[ext]",
        inlineDynamicImports: true,
      },
    },
  },
});
