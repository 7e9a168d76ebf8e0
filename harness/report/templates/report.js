(function () {
  "use strict";
{% include "core.js" %}
{% include "drill.js" %}
{% include "porting.js" %}
{% include "events.js" %}
{% include "claims.js" %}
{% include "start.js" %}
})();
