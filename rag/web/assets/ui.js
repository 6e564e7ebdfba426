() => {
  // Citation links of the web chat (runs once per page; see rag/web/client.py).
  // [n] in an answer -> scroll to source card n in the panel, mark it, move focus there;
  // "back to the answer" on a card -> the same for the citation in the chat.
  if (window.ragUi) return;
  window.ragUi = true;
  const reduce = window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  const behavior = reduce ? "auto" : "smooth";
  const GONE = {
    de: "Die Quellen dieser älteren Antwort werden nicht mehr angezeigt.",
    en: "The sources of this earlier answer are no longer shown.",
  };

  function announce(text) {
    let live = document.getElementById("rag-live");
    if (!live) {
      live = document.createElement("div");
      live.id = "rag-live";
      live.className = "rag-sr";
      live.setAttribute("aria-live", "polite");
      document.body.appendChild(live);
    }
    live.textContent = "";
    setTimeout(() => { live.textContent = text; }, 50);
  }

  function mark(el) {
    document.querySelectorAll(".rag-active").forEach((e) => e.classList.remove("rag-active"));
    el.classList.add("rag-active");
  }

  function show(el, block) {
    el.scrollIntoView({ block: block, behavior: behavior });
    mark(el);
    el.focus({ preventScroll: true });
  }

  document.addEventListener("click", (ev) => {
    if (!(ev.target instanceof Element)) return;
    const cite = ev.target.closest('a.rag-cite[href^="#rag-src-"]');
    if (cite) {
      ev.preventDefault();
      const card = document.getElementById(cite.getAttribute("href").slice(1));
      if (card) {
        show(card, "start");
      } else {
        const lang = document.documentElement.lang === "en" ? "en" : "de";
        announce(GONE[lang]);
        cite.title = GONE[lang];
      }
      return;
    }
    const back = ev.target.closest("a.rag-back");
    if (back) {
      ev.preventDefault();
      const prefix = "#rag-src-" + back.dataset.key + "-";
      const exact = 'a.rag-cite[href="' + prefix + back.dataset.n + '"]';
      const any = 'a.rag-cite[href^="' + prefix + '"]';
      // the latest message of this answer, then its first link to this source
      const all = document.querySelectorAll("#rag-chat " + exact + ", #rag-chat " + any);
      if (!all.length) return;
      const last = all[all.length - 1];
      const msg = last.closest('[data-testid="bot"]') || last.parentElement;
      show(msg.querySelector(exact) || msg.querySelector(any), "center");
    }
  });
}
