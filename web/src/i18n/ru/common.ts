import type { Texts } from '../texts.ts';
import type { COMMON as EN } from '../en/common.ts';

/** Russian texts shared by every page: the same keys as en/common.ts. */
export const COMMON: Texts<typeof EN> = {
  appName: 'Pulsebridge',
  language: 'Язык',
  theme: 'Тема',
  themeLight: 'Светлая',
  themeDark: 'Тёмная',
  themeSystem: 'Как в системе',
  signIn: 'Войти',
  signOut: 'Выйти',
  loading: 'Загрузка…',
  retry: 'Повторить',
  save: 'Сохранить',
  cancel: 'Отмена',
  delete: 'Удалить',
  close: 'Закрыть',
  errorTitle: 'Что-то пошло не так',
  notFound: 'Не найдено',
  forbidden: 'Нет доступа',
  navHome: 'Главная',
  navBoard: 'Табло класса',
  navCoach: 'Тренер',
  navAdmin: 'Администратор зала',
  navMe: 'Мои тренировки',
  gym: 'Зал',
  minutes_one: '{count} минута',
  minutes_few: '{count} минуты',
  minutes_many: '{count} минут',
  minutes_other: '{count} минуты',
};
