/* Text a model is writing, shown as its step.text events arrive: the run page (run.js) and
   the story page (stories' story.js) both put it together with this. Plain script, no build
   step; a file, so it runs under the studio's Content-Security-Policy. */
(function () {
  "use strict";
  /* step.text events: pieces of what a model is writing, each at an offset of its part
     (a step's call); replayed from the start or resumed, they add up to all written so far. */
  window.InkwrightWriting = function (section) {
    var blocks = {};

    function block(step, candidate) {
      var key = step + "#" + candidate;
      if (!blocks[key]) {
        var article = document.createElement("article");
        article.className = "writing-step";
        article.setAttribute("data-writing", key);
        var title = document.createElement("h3");
        var code = document.createElement("code");
        code.textContent = step;
        title.appendChild(code);
        if (candidate > 0) { title.appendChild(document.createTextNode(" · candidate " + (candidate + 1))); }
        var state = document.createElement("span");
        state.className = "muted writing-state";
        state.textContent = " writing…";
        title.appendChild(state);
        article.appendChild(title);
        section.appendChild(article);
        section.hidden = false;
        blocks[key] = { article: article, state: state, parts: {} };
      }
      return blocks[key];
    }

    this.show = function (data) {
      var shown = block(data.step, data.candidate || 0);
      var part = shown.parts[data.part];
      if (!part) {
        var text = document.createElement("div");
        text.className = "writing-text";
        text.tabIndex = 0;  // it scrolls: the keyboard must reach it
        shown.article.appendChild(text);
        part = shown.parts[data.part] = { node: text, have: 0 };
      }
      // Offsets count what the server counted; a piece seen already (a replay) is skipped.
      if (data.offset === part.have && data.text) {
        part.node.appendChild(document.createTextNode(data.text));
        part.have = data.offset + data.length;
      }
      shown.state.textContent = data.done ? " written" : " writing…";
    };
  };
})();
