/* What every host of PayPlan's widget UI core (frontend_widget/script.js) gives it, whatever the CRM:
 * the AMD modules it asks for (jquery, underscore, twigjs, amoCRM's modal component), toasts, and the
 * base widget object's CRM-independent half (texts, templates). Each host (the amoCRM demo page,
 * the Bitrix24 frame) adds its own half: where it draws, whose deal, how a call gets its token. */
(function (global, $, _, Twig) {
  'use strict';

  var modals = [];

  // ---- lib/components/base/modal --------------------------------------------------------------
  function Modal(options) {
    var modal = this;
    this.options = options || {};
    this.$modal = $('<div class="modal ' + _.escape(this.options.class_name || '') + '">' +
      '<div class="modal-overlay"></div><div class="modal-scroller"><div class="modal-body"></div></div></div>')
      .appendTo('body');
    var $body = this.$modal.find('.modal-body');
    $body.on('click', '.modal-body__close', function () { modal.destroy(); });
    this.$modal.find('.modal-overlay').on('click', function () { modal.destroy(); });
    modals.push(this);
    $('body').addClass('has-modal');
    if (this.options.init) {
      this.options.init($body);
    }
  }
  Modal.prototype.destroy = function () {
    if (this.destroyed) {
      return;
    }
    if (this.options.destroy && this.options.destroy() === false) {
      return;
    }
    this.destroyed = true;
    this.$modal.remove();
    modals = _.without(modals, this);
    $('body').toggleClass('has-modal', modals.length > 0);
  };
  $(document).on('keydown', function (event) {
    if (event.key === 'Escape' && modals.length) {
      modals[modals.length - 1].destroy();
    }
  });

  function toast(text, tone) {
    var $toast = $('<div class="payplan-host-toast" data-tone="' + (tone || 'info') + '"></div>').text(text).appendTo('body');
    setTimeout(function () { $toast.fadeOut(300, function () { $toast.remove(); }); }, 4000);
  }

  global.define('jquery', [], function () { return $; });
  global.define('underscore', [], function () { return _; });
  global.define('twigjs', [], function () { return Twig; });
  global.define('lib/components/base/modal', ['jquery'], function () { return Modal; });

  // `state` holds the host's manifest and langs once loaded; the host extends the returned object.
  function baseWidget(state) {
    return {
      get_version: function () { return state.manifest.widget.version; },
      i18n: function (section) { return state.langs[section]; },
      set_status: function () {},
      render: function (options, params) {
        if (options.data !== undefined) {
          return Twig.twig({data: options.data}).render(params || {});
        }
        $.ajax({url: (options.base_path || '') + options.href, data: options.v ? {v: options.v} : undefined,
          dataType: 'text', cache: true}).done(function (source) {
          var compiled = Twig.twig({data: source});
          if (options.load) {
            options.load(compiled);
          }
        });
        return '';
      }
    };
  }

  function text(langs, key) {
    var node = langs;
    _.each(key.split('.'), function (part) { node = node && node[part]; });
    return typeof node === 'string' ? node : key;
  }

  // Load the manifest, the texts and the core; `ready(Factory, manifest, langs)` once all are in.
  function load(widgetPath, lang, ready) {
    $.when($.getJSON(widgetPath + '/manifest.json'), $.getJSON(widgetPath + '/i18n/' + lang + '.json'))
      .then(function (manifest, langs) {
        global.require([widgetPath + '/script.js?v=' + manifest[0].widget.version], function (Factory) {
          ready(Factory, manifest[0], langs[0]);
        }, function (error) { toast(String(error), 'error'); });
      });
  }

  // A widget object as the platform makes one, then its render → init → bind_actions callbacks.
  function create(Factory, base, params, langs) {
    var widget = Object.create(base);
    widget.params = params;
    widget.langs = langs;
    return Factory.call(widget) || widget;
  }

  function run(widget) {
    _.find(['render', 'init', 'bind_actions'], function (name) {
      return widget.callbacks[name]() === false;
    });
  }

  global.PayPlanWidgetHost = {Modal: Modal, modals: function () { return modals.slice(); }, toast: toast,
    baseWidget: baseWidget, text: text, load: load, create: create, run: run};
}(window, window.jQuery, window._, window.Twig));
