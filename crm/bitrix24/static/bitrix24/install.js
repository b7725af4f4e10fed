// The installer frame: tell Bitrix24 the install is finished (until then no events and no deal tab).
(function () {
  if (window.BX24 && typeof window.BX24.init === "function") {
    window.BX24.init(function () { window.BX24.installFinish(); });
  }
})();
