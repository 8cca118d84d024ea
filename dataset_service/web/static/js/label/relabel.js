// What renaming or deleting a label does to a list of objects (the page's own, or as the API
// shapes them: both carry `label`), for every copy of the objects the page holds. Objects keep
// their identity (the selection and the objects hidden one by one hold on to them).

export const renameLabel = (from, to) => (objects) => {
  for (const o of objects) if (o.label === from) o.label = to;
  return objects;
};

export const dropLabel = (name) => (objects) => objects.filter((o) => o.label !== name);
