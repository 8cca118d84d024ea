// The Images tab's current filter, remembered in this browser tab (sessionStorage) for the Team
// tab, whose Assign form can hand out "the images tab's current filter".
const key = (datasetId) => `dataset-${datasetId}-images-filter`;

// `filter` is {api: the API's JSON filter, query: the URL's filter parameters, total: images it matches}.
export function rememberFilter(datasetId, filter) {
  try {
    if (filter?.api) sessionStorage.setItem(key(datasetId), JSON.stringify(filter));
  } catch {
    // storage refused (private mode, quota): the Team tab offers the default choice only
  }
}

export function rememberedFilter(datasetId) {
  try {
    return JSON.parse(sessionStorage.getItem(key(datasetId)) ?? "null");
  } catch {
    return null;
  }
}
