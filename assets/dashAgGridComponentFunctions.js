// Cell renderers of the dashboard's grids. Text from the data is rendered as text (React escapes
// it), never as markdown or HTML; the address is built on the server from quoted parts.
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

dagcomponentfuncs.CaseLink = function (props) {
  var href = props.data && props.data.case_href;
  if (typeof href !== "string" || href.charAt(0) !== "/" || href.charAt(1) === "/") {
    return props.value;
  }
  return React.createElement("a", { href: href }, props.value);
};
